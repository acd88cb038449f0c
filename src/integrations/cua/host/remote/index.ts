/**
 * trycua computer-server protocol, both ways: a Computer that drives a remote computer-server
 * (client.ts), and our own computer-server lending local computers (server.ts, cli.ts).
 */
export { connectCuaComputer, CuaRemoteComputer, type CuaConnectOptions, type CuaExit } from './client.js';
export type { ServerInfo } from './dial.js';
export { startComputerServer, type ComputerServer, type ComputerServerOptions } from './server.js';
export { computerServerCommand } from './cli.js';
export { PROTOCOL_VERSION } from './protocol.js';
