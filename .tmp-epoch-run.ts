import { benchEpochOfVouchers } from './bench/epoch.js';
const n = Number(process.argv[2] ?? 100000);
const few = benchEpochOfVouchers(n, n);
const many = benchEpochOfVouchers(n, n * 10);
console.log(JSON.stringify({ few, many, time: many.epochMs / few.epochMs, size: many.databaseBytes / few.databaseBytes }));
