/** The fault drill (`npm run test:faults`): each scenario prints its figures and fails on any loss or duplicate. */
const base = require('./jest.config.js');
module.exports = { ...base, testMatch: ['<rootDir>/test/faults/**/*.fault.ts'], testTimeout: 300000, maxWorkers: 1 };
