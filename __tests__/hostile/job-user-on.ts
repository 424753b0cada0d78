// Imported first by every hostile case that runs a job: the job runs as its own OS user whenever
// this machine allows it (root or passwordless sudo), as DSTACK_JOB_USER=auto does in CI.
process.env.DSTACK_JOB_USER = 'auto'
export {}
