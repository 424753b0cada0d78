/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  // every AWS request in every test is checked against AWS's service models
  // the job runs as the runner's user unless a test turns DSTACK_JOB_USER on (helpers/job-user-default.ts)
  setupFiles: ['<rootDir>/__tests__/helpers/job-user-default.ts'],
  setupFilesAfterEnv: ['<rootDir>/__tests__/helpers/aws-model-setup.ts'],
  testTimeout: 60000,
  maxWorkers: 2
}
