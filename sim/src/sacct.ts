// Entry point of sim/sacct: run the stand-in with this process's arguments and environment.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
