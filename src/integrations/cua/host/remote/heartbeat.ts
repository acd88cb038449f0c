/**
 * The heartbeat both ends of a computer-server connection keep: a ping every `intervalMs`, and the
 * socket terminated when the previous ping got no pong (a peer that stopped answering — its
 * 'close' then carries the news). Stops by itself when the socket closes; 0 = no heartbeat.
 */
import WebSocket from 'ws';

export function keepAlive(ws: WebSocket, intervalMs: number): void {
  if (intervalMs <= 0 || ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
  let awaitingPong = false;
  ws.on('pong', () => {
    awaitingPong = false;
  });
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (awaitingPong) {
      ws.terminate();
      return;
    }
    awaitingPong = true;
    ws.ping();
  }, intervalMs);
  timer.unref();
  ws.once('close', () => clearInterval(timer));
}
