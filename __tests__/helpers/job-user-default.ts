// Tests run the job as the runner's own user (DSTACK_JOB_USER=off) unless they turn it on: this
// machine may be root, where the runner would really switch to the `dstack-job` user. The hostile
// suite (__tests__/hostile/cli-harness.ts) and the job-user tests turn it on.
if (!process.env.DSTACK_JOB_USER) process.env.DSTACK_JOB_USER = 'off'
