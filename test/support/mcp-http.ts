/** Test support: the raw Streamable HTTP helpers the benchmark suite uses too (bench/support/mcp-http.ts). */
export * from '../../bench/support/mcp-http.js';
