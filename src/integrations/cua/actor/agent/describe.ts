/** One-line, human-readable descriptions of computer actions, for the transcript and progress. */

const MAX_TEXT = 120;

function quote(text: unknown): string {
  const s = typeof text === 'string' ? text : String(JSON.stringify(text));
  const q = JSON.stringify(s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);
  return q;
}

function at(v: unknown): string {
  return Array.isArray(v) && v.length === 2 ? `(${String(v[0])}, ${String(v[1])})` : String(JSON.stringify(v));
}

function held(input: Record<string, unknown>): string {
  const keys = [input.text, input.key].find((v) => typeof v === 'string' && v !== '');
  return keys === undefined ? '' : ` holding ${String(keys)}`;
}

/** e.g. `key ctrl+alt+t`, `left_click (120, 40)`, `scroll down 3 at (500, 300)`, `type "ls\n"`. */
export function describeAction(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `(malformed input ${quote(raw)})`;
  const input = raw as Record<string, unknown>;
  const action = typeof input.action === 'string' ? input.action : '(no action)';
  const where = input.coordinate === undefined || input.coordinate === null ? '' : ` ${at(input.coordinate)}`;
  switch (action) {
    case 'key':
      return `key ${String(input.text)}`;
    case 'hold_key':
      return `hold_key ${String(input.text)} for ${String(input.duration)} s`;
    case 'type':
      return `type ${quote(input.text)}`;
    case 'wait':
      return `wait ${String(input.duration)} s`;
    case 'cursor_position':
    case 'screenshot':
      return action;
    case 'mouse_move':
    case 'left_mouse_down':
    case 'left_mouse_up':
      return `${action}${where}`;
    case 'left_click':
    case 'right_click':
    case 'middle_click':
    case 'double_click':
    case 'triple_click':
      return `${action}${where || ' at the pointer'}${held(input)}`;
    case 'left_click_drag':
      return `left_click_drag ${input.start_coordinate === undefined ? 'from the pointer' : at(input.start_coordinate)} → ${at(input.coordinate)}`;
    case 'scroll':
      return `scroll ${String(input.scroll_direction)} ${String(input.scroll_amount)}${where ? ` at${where}` : ' at the pointer'}${held(input)}`;
    default: {
      const { action: _omit, ...rest } = input;
      return `${action} ${quote(rest)}`;
    }
  }
}
