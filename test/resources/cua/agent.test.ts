/**
 * The computer-use agent loop against a real Xvfb computer and, over real loopback HTTP, the fake
 * Messages API (test/support/fake-model), which refuses requests whose tool_results do not answer
 * its previous tool_use ids.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Point } from '../../../src/integrations/cua/shared/computer.js';
import {
  agentConfigFromEnv, AgentConfigError, COMPUTER_ACTIONS, DEFAULT_CUA_MODEL, IMAGE_PLACEHOLDER, runAgentTask,
  type AgentStep, type AgentTaskOptions,
} from '../../../src/integrations/cua/actor/agent/index.js';
import { createXvfbComputer, type XvfbComputer } from '../../../src/integrations/cua/host/xvfb/index.js';
import { startFakeModel, type FakeModel, type FakeModelOptions, type RecordedRequest, type ScriptStep } from '../../support/fake-model/index.js';
import { homeFile, pngSize, waitFor } from '../../support/cua.js';

const API_KEY = `sk-ant-test-${randomUUID()}`;


/** The screenshot a request carries in its last tool_result, decoded. */
function lastImage(request: RecordedRequest | undefined): Buffer {
  const messages = request?.body?.messages ?? [];
  const last = messages[messages.length - 1]?.content as Array<{ type: string; content?: Array<{ type: string; source?: { data: string } }> }>;
  const image = last?.[0]?.content?.find((b) => b.type === 'image');
  expect(image?.source?.data).toBeTypeOf('string');
  return Buffer.from(image?.source?.data ?? '', 'base64');
}

/** Every text block of a request, tool_result contents included. */
function texts(request: RecordedRequest | undefined): string[] {
  const out: string[] = [];
  const walk = (blocks: unknown) => {
    if (!Array.isArray(blocks)) return;
    for (const b of blocks as Array<{ type: string; text?: string; content?: unknown }>) {
      if (b.type === 'text' && typeof b.text === 'string') out.push(b.text);
      if (b.type === 'tool_result') walk(b.content);
    }
  };
  for (const m of request?.body?.messages ?? []) walk(m.content);
  return out;
}

let computer: XvfbComputer;
let blankDesktop: Buffer;
const fakes: FakeModel[] = [];

async function fakeModel(script: ScriptStep[], options: Omit<FakeModelOptions, 'script'> = {}): Promise<FakeModel> {
  const fake = await startFakeModel({ script, apiKey: API_KEY, ...options });
  fakes.push(fake);
  return fake;
}

function run(fake: FakeModel, options: Partial<AgentTaskOptions> = {}) {
  return runAgentTask({
    computer,
    task: 'Do what the script says.',
    model: { baseUrl: fake.url, apiKey: API_KEY, model: 'claude-fake-cua', maxRetries: 0 },
    deadlineMs: 60_000,
    settleMs: 0,
    ...options,
  });
}

/** Records each step with the pointer position right after it, read from the computer. */
function stepRecorder() {
  const steps: Array<AgentStep & { cursor: Point; at: number }> = [];
  const onStep = async (s: AgentStep) => {
    steps.push({ ...s, cursor: await computer.cursorPosition(), at: Date.now() });
  };
  return { steps, onStep };
}

/** The fake answered every request (so each one passed its tool_use/tool_result validation). */
function expectAllAnswered(fake: FakeModel): void {
  expect(fake.requests.map((r) => [r.index, r.status, r.errorMessage])).toEqual(fake.requests.map((r) => [r.index, 200, undefined]));
}

/** Request i's tool_results answer exactly the tool_use ids of the response to request i-1. */
function expectPaired(fake: FakeModel): void {
  for (let i = 1; i < fake.requests.length; i++) {
    const asked = (fake.requests[i - 1]?.response?.content ?? []).flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
    expect(fake.requests[i]?.toolResults.map((r) => r.toolUseId)).toEqual(asked);
  }
}

beforeAll(async () => {
  computer = await createXvfbComputer();
  blankDesktop = Buffer.from(await computer.screenshot());
});

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  await computer.reset();
});

afterAll(async () => {
  await computer?.close();
});

describe('runAgentTask', () => {
  it('opens a terminal, writes a file through it and finishes, speaking the Messages API computer-use protocol', async () => {
    const file = '~/done.txt';
    const fake = await fakeModel([
      { use: { action: 'key', text: 'ctrl+alt+t' }, text: 'I will open a terminal.' },
      { use: { action: 'type', text: `echo done > ${file}` } },
      { use: { action: 'key', text: 'Return' } },
      { final: 'finished' },
    ]);
    const { steps, onStep } = stepRecorder();
    const t0 = Date.now();
    const result = await run(fake, { task: 'Write done into a file.', onStep, settleMs: undefined });
    const took = Date.now() - t0;

    expect(result.status).toBe('done');
    expect(result.error).toBeUndefined();
    expect(result.finalText).toBe('finished');
    expect(result.steps).toBe(3);
    expect(await waitFor('the file', () => homeFile(computer, 'done.txt') === 'done\n' && 'ok', 5000)).toBe('ok');

    expect(steps.map((s) => [s.step, s.action, s.text, s.failed])).toEqual([
      [1, 'key ctrl+alt+t', 'I will open a terminal.', false],
      [2, `type ${JSON.stringify(`echo done > ${file}`)}`, '', false],
      [3, 'key Return', '', false],
    ]);
    for (const line of ['task: Write done into a file.', '[1] model: I will open a terminal.', '[1] key ctrl+alt+t', `[2] type "echo done > ${file}"`, '[3] key Return', '[4] model: finished', '=> done after 3 steps']) {
      expect(result.transcript).toContain(line);
    }
    expect(result.transcript).not.toContain(API_KEY);
    expect(pngSize(result.finalScreenshot)).toEqual({ width: 1024, height: 768 });
    expect(Buffer.from(result.finalScreenshot as Uint8Array).equals(blankDesktop)).toBe(false); // the terminal is on it

    // The wire: one request per turn, each well-formed and answering the previous tool_use.
    expect(fake.requests).toHaveLength(4);
    expectAllAnswered(fake);
    expectPaired(fake);
    expect(fake.scriptDone).toBe(true);
    const first = fake.requests[0] as RecordedRequest;
    expect(first.method).toBe('POST');
    expect(first.path).toBe('/v1/messages');
    expect(first.headers['x-api-key']).toBe(API_KEY);
    expect(first.headers['anthropic-version']).toBe('2023-06-01');
    expect(first.headers['anthropic-beta']).toBe('computer-use-2025-01-24');
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    expect(first.body?.model).toBe('claude-fake-cua');
    expect(first.body?.max_tokens).toBe(4096);
    expect(first.body?.tools).toEqual([{ type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 }]);
    expect(first.body?.system).toEqual(expect.stringContaining('ctrl+alt+t'));
    expect(first.body?.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Write done into a file.' }] }]);
    expect(fake.requests.map((r) => r.imageCount)).toEqual([0, 1, 2, 3]);
    for (const r of fake.requests.slice(1)) {
      expect(r.toolResults).toEqual([{ toolUseId: expect.stringMatching(/^toolu_/), isError: false, texts: [], images: 1 }]);
      expect(r.headers['x-api-key']).toBe(API_KEY);
    }
    // The screenshot after ctrl+alt+t was taken after the action: the terminal is on it.
    const afterTerminal = lastImage(fake.requests[1]);
    expect(pngSize(afterTerminal)).toEqual({ width: 1024, height: 768 });
    expect(afterTerminal.equals(blankDesktop)).toBe(false);
    // The assistant turns go back verbatim, tool_use ids included.
    expect(fake.requests[3]?.body?.messages[1]).toEqual({ role: 'assistant', content: fake.requests[0]?.response?.content });
    expect(took).toBeLessThan(15_000);
  });

  it('executes every computer_20250124 action kind, keeps at most 3 screenshots per request, and keeps tool_use/tool_result pairs intact', async () => {
    const pasted = '~/pasted.txt';
    const script: ScriptStep[] = [
      { use: { action: 'key', text: 'ctrl+alt+t' } },
      // After `clear`, the echoed command line is the terminal's first row.
      { use: { action: 'type', text: `clear; echo 'echo pasted > ${pasted}'\n` } },
      { use: { action: 'wait', duration: 0.5 } },
      // Triple-click selects that row (PRIMARY), middle-click pastes it at the prompt, Return runs it.
      { use: { action: 'triple_click', coordinate: [40, 8] } },
      { use: { action: 'middle_click', coordinate: [200, 200] } },
      { use: { action: 'key', text: 'Return' } },
      { use: { action: 'mouse_move', coordinate: [600, 500] } },
      { use: { action: 'cursor_position' } },
      { use: { action: 'left_click', coordinate: [700, 600] } },
      { use: { action: 'right_click' } }, // at the pointer
      { use: { action: 'double_click', coordinate: [720, 620] } },
      { use: { action: 'left_click_drag', start_coordinate: [100, 500], coordinate: [300, 550] } },
      { use: { action: 'left_mouse_down', coordinate: [400, 600] } },
      { use: { action: 'mouse_move', coordinate: [450, 650] } },
      { use: { action: 'left_mouse_up' } },
      { use: { action: 'scroll', scroll_direction: 'down', scroll_amount: 3, coordinate: [500, 400] } },
      { use: { action: 'scroll', scroll_direction: 'left', scroll_amount: 2 } }, // at the pointer
      { use: { action: 'hold_key', text: 'shift', duration: 0.3 } },
      { use: { action: 'screenshot' } },
      { final: 'all done' },
    ];
    const fake = await fakeModel(script);
    const { steps, onStep } = stepRecorder();
    const result = await run(fake, { onStep, maxSteps: 30 });

    expect(result.status).toBe('done');
    expect(result.steps).toBe(script.length - 1);
    expect(steps.every((s) => !s.failed)).toBe(true);
    // Every action kind went to the computer (key and type included).
    const kinds = new Set(script.flatMap((s) => ('use' in s && !Array.isArray(s.use) ? [s.use.action] : [])));
    expect([...kinds].sort()).toEqual([...COMPUTER_ACTIONS].sort());

    // Observed through the computer: the triple-click selection was pasted into the shell and run.
    expect(await waitFor('the pasted command', () => homeFile(computer, 'pasted.txt') === 'pasted\n' && 'ok', 5000)).toBe('ok');
    const cursorAfter = (action: string) => steps.find((s) => s.action === action)?.cursor;
    expect(cursorAfter('mouse_move (600, 500)')).toEqual({ x: 600, y: 500 });
    expect(cursorAfter('left_click (700, 600)')).toEqual({ x: 700, y: 600 });
    expect(cursorAfter('right_click at the pointer')).toEqual({ x: 700, y: 600 });
    expect(cursorAfter('double_click (720, 620)')).toEqual({ x: 720, y: 620 });
    expect(cursorAfter('triple_click (40, 8)')).toEqual({ x: 40, y: 8 });
    expect(cursorAfter('middle_click (200, 200)')).toEqual({ x: 200, y: 200 });
    expect(cursorAfter('left_click_drag (100, 500) → (300, 550)')).toEqual({ x: 300, y: 550 });
    expect(cursorAfter('left_mouse_down (400, 600)')).toEqual({ x: 400, y: 600 });
    expect(cursorAfter('mouse_move (450, 650)')).toEqual({ x: 450, y: 650 });
    expect(cursorAfter('left_mouse_up')).toEqual({ x: 450, y: 650 });
    expect(cursorAfter('scroll down 3 at (500, 400)')).toEqual({ x: 500, y: 400 });
    expect(cursorAfter('scroll left 2 at the pointer')).toEqual({ x: 500, y: 400 });
    // cursor_position answers with the pointer position (as text, next to the screenshot).
    const cursorStep = steps.findIndex((s) => s.action === 'cursor_position') + 1;
    expect(fake.requests[cursorStep]?.toolResults).toEqual([expect.objectContaining({ texts: ['X=600,Y=500'], images: 1, isError: false })]);
    // wait and hold_key take their time (the step ends no earlier than its duration after the previous one).
    const gap = (action: string) => {
      const i = steps.findIndex((s) => s.action === action);
      return (steps[i]?.at ?? 0) - (steps[i - 1]?.at ?? 0);
    };
    expect(gap('wait 0.5 s')).toBeGreaterThanOrEqual(495);
    expect(gap('hold_key shift for 0.3 s')).toBeGreaterThanOrEqual(295);

    // Images: never more than 3 per request; the older ones are placeholders, the pairing intact.
    expect(fake.requests).toHaveLength(script.length);
    expect(Math.max(...fake.requests.map((r) => r.imageCount))).toBe(3);
    expect(fake.requests.map((r) => r.imageCount)).toEqual(fake.requests.map((_, i) => Math.min(i, 3)));
    const last = fake.requests[fake.requests.length - 1];
    expect(texts(last).filter((t) => t === IMAGE_PLACEHOLDER)).toHaveLength(script.length - 1 - 3);
    expect(last?.body?.messages).toHaveLength(1 + 2 * (script.length - 1));
    expectAllAnswered(fake);
    expectPaired(fake);
  });

  it('turns failed and unknown actions into is_error tool_results and carries on; several tool_uses in one turn are one step', async () => {
    const fake = await fakeModel([
      { use: { action: 'left_click', coordinate: [5000, 5000] } },
      { use: { action: 'zoom', region: [0, 0, 10, 10] } },
      { use: { action: 'type' } },
      { use: { action: 'left_click', coordinate: [10, 10], text: 'shift' } },
      { use: { action: 'scroll', scroll_direction: 'sideways', scroll_amount: 1 } },
      { use: [{ action: 'mouse_move', coordinate: [33, 44] }, { action: 'cursor_position' }], text: 'Two at once.' },
      { final: 'recovered' },
    ]);
    const { steps, onStep } = stepRecorder();
    const result = await run(fake, { onStep, maxImages: 1 });

    expect(result.status).toBe('done');
    expect(result.finalText).toBe('recovered');
    expect(result.steps).toBe(6);
    expect(steps.map((s) => s.failed)).toEqual([true, true, true, true, true, false]);
    const errorOf = (i: number) => {
      const [r] = fake.requests[i]?.toolResults ?? [];
      expect(r?.isError).toBe(true);
      expect(r?.images).toBe(0);
      return r?.texts.join(' ');
    };
    expect(errorOf(1)).toMatch(/^BAD_COORDINATES: \(5000, 5000\) is not an integer point on the 1024x768 screen/);
    expect(errorOf(2)).toMatch(/^invalid input: unknown action "zoom"/);
    expect(errorOf(3)).toMatch(/^invalid input: type needs a non-empty string "text"/);
    expect(errorOf(4)).toMatch(/^NOT_SUPPORTED: holding keys \("shift"\) during left_click/);
    expect(errorOf(5)).toMatch(/^invalid input: scroll_direction must be up, down, left or right/);
    // Nothing moved the pointer before the mouse_move (the refused shift-click did not click).
    expect(steps[4]?.cursor).not.toEqual({ x: 10, y: 10 });
    expect(steps[5]?.cursor).toEqual({ x: 33, y: 44 });
    expect(steps[5]?.action).toBe('mouse_move (33, 44); cursor_position');
    // (maxImages 1: the first of the two screenshots is already a placeholder.)
    expect(fake.requests[6]?.toolResults).toEqual([
      { toolUseId: expect.any(String), isError: false, texts: [IMAGE_PLACEHOLDER], images: 0 },
      { toolUseId: expect.any(String), isError: false, texts: ['X=33,Y=44'], images: 1 },
    ]);
    expect(result.transcript).toContain('[1] left_click (5000, 5000) → failed: BAD_COORDINATES');
    expect(result.transcript).toContain('[6] mouse_move (33, 44)\n[6] cursor_position');
    // maxImages 1: only the newest screenshot travels, even when one turn produced two.
    expect(Math.max(...fake.requests.map((r) => r.imageCount))).toBe(1);
    expectAllAnswered(fake);
    expectPaired(fake);
  });

  it('stops with max_steps when the model still wants to act after maxSteps steps', async () => {
    const fake = await fakeModel(Array.from({ length: 10 }, () => ({ use: { action: 'screenshot' } })));
    const { steps, onStep } = stepRecorder();
    const result = await run(fake, { onStep, maxSteps: 2 });
    expect(result.status).toBe('max_steps');
    expect(result.steps).toBe(2);
    expect(steps.map((s) => s.step)).toEqual([1, 2]);
    expect(fake.requests).toHaveLength(3); // the third answer's action was not executed
    expect(result.transcript).not.toContain('[3] screenshot');
    expect(result.transcript).toMatch(/=> max_steps after 2 steps$/);
    expect(pngSize(result.finalScreenshot)).toEqual({ width: 1024, height: 768 });
  });

  it('stops at the deadline, between steps or in the middle of a slow model request', async () => {
    const slowish = await fakeModel(Array.from({ length: 50 }, () => ({ use: { action: 'screenshot' } })), { delayMs: 150 });
    let t0 = Date.now();
    let result = await run(slowish, { deadlineMs: 1000 });
    let took = Date.now() - t0;
    expect(result.status).toBe('deadline');
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(2500);
    expect(result.steps).toBeGreaterThanOrEqual(2);
    expect(result.steps).toBeLessThan(8);
    expect(result.transcript).toMatch(/=> deadline after \d+ steps?$/);

    const stuck = await fakeModel([{ final: 'too late' }], { delayMs: 30_000 });
    t0 = Date.now();
    result = await run(stuck, { deadlineMs: 400 });
    took = Date.now() - t0;
    expect(result.status).toBe('deadline');
    expect(result.steps).toBe(0);
    expect(took).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 100)); // deliberate: time for an answer to the abandoned request that must not come
    expect(stuck.requests).toHaveLength(1);
    expect(stuck.requests[0]?.status).toBeNull(); // abandoned by the client, never answered
    expect(stuck.scriptDone).toBe(false);
  });

  it('is cancelled by its signal: between steps, during a wait, and during a model request', async () => {
    const many = Array.from({ length: 20 }, () => ({ use: { action: 'screenshot' } }));
    const fake = await fakeModel(many);
    const controller = new AbortController();
    const seen: number[] = [];
    const result = await run(fake, {
      signal: controller.signal,
      onStep: (s) => {
        seen.push(s.step);
        if (s.step === 2) controller.abort();
      },
    });
    expect(result.status).toBe('cancelled');
    expect(result.steps).toBe(2);
    expect(seen).toEqual([1, 2]);
    expect(fake.requests).toHaveLength(2); // no request after the cancellation

    const waiting = await fakeModel([{ use: { action: 'wait', duration: 30 } }, { final: 'never' }]);
    const c2 = new AbortController();
    let t0 = Date.now();
    const running2 = run(waiting, { signal: c2.signal });
    // Once the model has answered with the 30 s wait, the loop is (about to be) in it.
    await waitFor('the model to answer with the wait', () => waiting.requests[0]?.status === 200);
    c2.abort();
    const r2 = await running2;
    expect(r2.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(waiting.requests).toHaveLength(1);

    const slow = await fakeModel([{ final: 'slow' }], { delayMs: 30_000 });
    const c3 = new AbortController();
    t0 = Date.now();
    const running3 = run(slow, { signal: c3.signal });
    await waitFor('the model request to arrive', () => slow.requests.length === 1); // the model holds it for 30 s
    c3.abort();
    const r3 = await running3;
    expect(r3.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(1500);

    const c4 = new AbortController();
    c4.abort();
    const r4 = await run(await fakeModel([{ final: 'x' }]), { signal: c4.signal });
    expect(r4.status).toBe('cancelled');
    expect(r4.steps).toBe(0);
  });

  it('reports model API failures as status error, without the API key; retries transient ones', async () => {
    // A persistent 500: one retry, then a clear error.
    const broken = await fakeModel([{ fail: 'server', times: 10 }]);
    let result = await run(broken, { model: { baseUrl: broken.url, apiKey: API_KEY, model: 'm', maxRetries: 1 } });
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/^model API answered HTTP 500 \(api_error: Internal server error\) \[request-id req_\w+\]; gave up after 2 attempts$/);
    expect(broken.requests.map((r) => r.status)).toEqual([500, 500]);
    expect(result.steps).toBe(0);
    expect(pngSize(result.finalScreenshot)).toEqual({ width: 1024, height: 768 });

    // Overloaded (529) and rate-limited (429) answers are retried, honouring retry-after.
    const flaky = await fakeModel([{ fail: 'overloaded', retryAfter: 0 }, { fail: 'rate_limit', retryAfter: 0 }, { final: 'made it' }]);
    result = await run(flaky, { model: { baseUrl: flaky.url, apiKey: API_KEY, model: 'm' } });
    expect(result.status).toBe('done');
    expect(result.finalText).toBe('made it');
    expect(flaky.requests.map((r) => r.status)).toEqual([529, 429, 200]);

    // An error message that echoes the key: redacted.
    const echo = await fakeModel([{ fail: { status: 401, type: 'authentication_error', message: `invalid x-api-key ${API_KEY}` } }]);
    result = await run(echo);
    expect(result.status).toBe('error');
    expect(result.error).toContain('HTTP 401 (authentication_error: invalid x-api-key [redacted])');
    expect(result.error).not.toContain(API_KEY);
    expect(result.transcript).not.toContain(API_KEY);

    // A wrong key, refused by the fake itself.
    const strict = await fakeModel([{ final: 'unreachable' }], { apiKey: 'another-key' });
    result = await run(strict);
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/HTTP 401 \(authentication_error: invalid x-api-key\)/);

    // 200 with a body that is not JSON, or not a message.
    result = await run(await fakeModel([{ fail: 'bad_json' }]));
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/^model API answered HTTP 200 with a body that is not JSON/);
    result = await run(await fakeModel([{ fail: 'bad_shape' }]));
    expect(result.error).toBe('model API answered HTTP 200 with an unexpected message: no content array');

    // Nobody listening.
    const gone = await fakeModel([]);
    await gone.close();
    result = await run(gone);
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/);

    // The model stopping abnormally.
    result = await run(await fakeModel([{ final: 'I was cut', stopReason: 'max_tokens' }]));
    expect(result.status).toBe('error');
    expect(result.finalText).toBe('I was cut');
    expect(result.error).toBe('the model reached max_tokens (4096) before finishing its answer');
  });
});

describe('the fake model', () => {
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'computer-use-2025-01-24', ...headers },
      body: JSON.stringify(body),
    });
  const tools = [{ type: 'computer_20250124', name: 'computer', display_width_px: 800, display_height_px: 600 }];
  const user = { role: 'user', content: 'hi' };

  it('refuses a request whose tool_results do not answer its last tool_use ids, in the API error shape', async () => {
    const fake = await fakeModel([{ use: { action: 'screenshot' } }, { final: 'ok' }]);
    const first = await post(fake.url, { model: 'm', max_tokens: 10, tools, messages: [user] });
    expect(first.status).toBe(200);
    const message = (await first.json()) as { content: Array<{ type: string; id: string }>; stop_reason: string };
    expect(message.stop_reason).toBe('tool_use');
    const use = message.content[0] as { type: string; id: string };
    expect(use.type).toBe('tool_use');

    const answer = (id: string) => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: 'x' }] }] });
    const wrong = await post(fake.url, { model: 'm', max_tokens: 10, tools, messages: [user, { role: 'assistant', content: message.content }, answer('toolu_other')] });
    expect(wrong.status).toBe(400);
    const body = (await wrong.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/unexpected `tool_use_id` found in `tool_result` blocks: toolu_other/);

    const missing = await post(fake.url, { model: 'm', max_tokens: 10, tools, messages: [user, { role: 'assistant', content: message.content }, user] });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/`tool_use` ids were found without `tool_result` blocks immediately after/);

    const noKey = await post(fake.url, { model: 'm', max_tokens: 10, tools, messages: [user] }, { 'x-api-key': '' });
    expect(noKey.status).toBe(401);
    const noBeta = await post(fake.url, { model: 'm', max_tokens: 10, tools, messages: [user] }, { 'anthropic-beta': '' });
    expect(noBeta.status).toBe(400);

    // The refused requests did not use up the script: the right answer still gets the final text.
    const right = await post(fake.url, { model: 'm', max_tokens: 10, tools, messages: [user, { role: 'assistant', content: message.content }, answer(use.id)] });
    expect(right.status).toBe(200);
    expect(((await right.json()) as { content: unknown[] }).content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 400, 400, 401, 400, 200]);
  });
});

describe('agentConfigFromEnv', () => {
  it('reads the environment with defaults, lets overrides win, and refuses bad values', () => {
    expect(agentConfigFromEnv({ ANTHROPIC_API_KEY: 'k' })).toEqual({
      model: { baseUrl: 'https://api.anthropic.com', apiKey: 'k', model: DEFAULT_CUA_MODEL, maxTokens: 4096 },
      maxImages: 3,
      maxSteps: 30,
    });
    expect(
      agentConfigFromEnv(
        { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/', CUA_MODEL_NAME: 'claude-x', CUA_MAX_IMAGES: '5', CUA_MAX_STEPS: '7' },
        { maxSteps: 2 },
      ),
    ).toEqual({ model: { baseUrl: 'http://127.0.0.1:9', apiKey: 'k', model: 'claude-x', maxTokens: 4096 }, maxImages: 5, maxSteps: 2 });
    expect(() => agentConfigFromEnv({})).toThrow(AgentConfigError);
    expect(() => agentConfigFromEnv({ ANTHROPIC_API_KEY: 'k', CUA_MAX_IMAGES: '0' })).toThrow(/CUA_MAX_IMAGES/);
    expect(() => agentConfigFromEnv({ ANTHROPIC_API_KEY: 'k', CUA_MAX_STEPS: '3.5' })).toThrow(/CUA_MAX_STEPS/);
    expect(() => agentConfigFromEnv({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'ftp://x' })).toThrow(/http/);
    expect(() => agentConfigFromEnv({ ANTHROPIC_API_KEY: 'secret-k', ANTHROPIC_BASE_URL: 'nope' })).toThrow(/not a URL/);
  });
});
