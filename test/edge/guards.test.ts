import { describe, expect, it } from 'vitest';
import { acceptsJsonAndSse, acceptsSse, checkHost, checkOrigin, isJsonContentType, makeHostPolicy, splitHost } from '../../src/main/edge/guards.js';

describe('Host and Origin allowlists', () => {
  const loopback = makeHostPolicy('127.0.0.1', [], []);
  it('accepts loopback names with any port and rejects others', () => {
    for (const h of ['localhost', 'localhost:3000', '127.0.0.1:8080', '[::1]:3000', '[::1]']) expect(checkHost(h, loopback)).toBeUndefined();
    for (const h of ['evil.example.com', 'evil.example.com:3000', '10.0.0.1:3000', 'localhost.evil.com']) expect(checkHost(h, loopback)?.code).toBe('FORBIDDEN_HOST');
    expect(checkHost(undefined, loopback)?.code).toBe('FORBIDDEN_HOST');
  });
  it('adds configured hosts and the bind address', () => {
    const p = makeHostPolicy('192.168.1.5', ['mcp.example.com', 'api.example.com:8443'], ['https://app.example.com']);
    expect(checkHost('192.168.1.5:3000', p)).toBeUndefined();
    expect(checkHost('mcp.example.com:3000', p)).toBeUndefined();
    expect(checkHost('api.example.com:8443', p)).toBeUndefined();
    expect(checkHost('api.example.com:9999', p)?.code).toBe('FORBIDDEN_HOST');
    expect(checkOrigin('https://app.example.com', p)).toBeUndefined();
    expect(checkOrigin('https://evil.example.com', p)?.code).toBe('FORBIDDEN_ORIGIN');
  });
  it('accepts no Origin (non-browser) and loopback origins; rejects opaque ones', () => {
    expect(checkOrigin(undefined, loopback)).toBeUndefined();
    expect(checkOrigin('http://localhost:5173', loopback)).toBeUndefined();
    expect(checkOrigin('null', loopback)?.code).toBe('FORBIDDEN_ORIGIN');
    expect(checkOrigin('file://', loopback)?.code).toBe('FORBIDDEN_ORIGIN');
  });
  it('splits hosts including IPv6 literals', () => {
    expect(splitHost('[::1]:3000')).toEqual({ name: '[::1]', port: '3000' });
    expect(splitHost('Example.COM')).toEqual({ name: 'example.com', port: undefined });
  });
});

describe('media types', () => {
  it('POST needs both JSON and SSE acceptable', () => {
    expect(acceptsJsonAndSse('application/json, text/event-stream')).toBe(true);
    expect(acceptsJsonAndSse('text/event-stream;q=0.9, application/json')).toBe(true);
    expect(acceptsJsonAndSse('*/*')).toBe(true);
    expect(acceptsJsonAndSse('application/json')).toBe(false);
    expect(acceptsJsonAndSse('application/json, text/event-stream;q=0')).toBe(false);
    expect(acceptsJsonAndSse(undefined)).toBe(false);
    expect(acceptsSse('text/event-stream')).toBe(true);
    expect(acceptsSse('application/json')).toBe(false);
  });
  it('Content-Type must be application/json (parameters allowed)', () => {
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('Application/JSON')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});
