/**
 * Key names, both ways, between our Computer contract and trycua's computer-server.
 *
 * - Ours: xdotool keysym combos ("Return", "ctrl+alt+t", "Page_Down", "minus"), space-separated
 *   for a sequence ("ctrl+a Delete") — the vocabulary of Anthropic's computer_20250124 `key` action.
 * - cua's: single key names as the server's Linux/macOS handlers look them up, i.e. pynput `Key`
 *   attribute names ("enter", "esc", "page_down", "ctrl", "cmd", "f5") or one literal character
 *   ("a", "A", "-"). `press_key` takes one of them (`{"key": "enter"}`), `hotkey` a list pressed
 *   together (`{"keys": ["ctrl", "alt", "t"]}`), `key_down`/`key_up` one (`{"key": "shift"}`).
 *
 * cua's own clients also send a few aliases ("pagedown", "del", "win", "command", "option"), and
 * its VNC handler accepts more ("pgdn", "bsp", "lctrl"); the server side accepts all of them.
 */
import { ComputerError } from '../../shared/computer.js';

/** ASCII punctuation: xdotool keysym name <-> the character. */
const PUNCTUATION: Readonly<Record<string, string>> = {
  space: ' ', exclam: '!', quotedbl: '"', numbersign: '#', dollar: '$', percent: '%', ampersand: '&',
  apostrophe: "'", parenleft: '(', parenright: ')', asterisk: '*', plus: '+', comma: ',', minus: '-',
  period: '.', slash: '/', colon: ':', semicolon: ';', less: '<', equal: '=', greater: '>',
  question: '?', at: '@', bracketleft: '[', backslash: '\\', bracketright: ']', asciicircum: '^',
  underscore: '_', grave: '`', braceleft: '{', bar: '|', braceright: '}', asciitilde: '~',
};
const PUNCTUATION_NAME: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(PUNCTUATION).map(([name, ch]) => [ch, name]),
);

/** xdotool names (lower-cased) -> cua (pynput) names, for everything that is not one character. */
const TO_CUA: Readonly<Record<string, string>> = {
  return: 'enter', enter: 'enter', kp_enter: 'enter', linefeed: 'enter',
  escape: 'esc', esc: 'esc',
  backspace: 'backspace',
  delete: 'delete', del: 'delete', kp_delete: 'delete',
  tab: 'tab', kp_tab: 'tab',
  space: 'space', kp_space: 'space',
  up: 'up', down: 'down', left: 'left', right: 'right',
  kp_up: 'up', kp_down: 'down', kp_left: 'left', kp_right: 'right',
  home: 'home', end: 'end', kp_home: 'home', kp_end: 'end',
  page_up: 'page_up', prior: 'page_up', pageup: 'page_up', pgup: 'page_up', kp_prior: 'page_up', kp_page_up: 'page_up',
  page_down: 'page_down', next: 'page_down', pagedown: 'page_down', pgdn: 'page_down', kp_next: 'page_down', kp_page_down: 'page_down',
  insert: 'insert', kp_insert: 'insert',
  ctrl: 'ctrl', control: 'ctrl', control_l: 'ctrl_l', ctrl_l: 'ctrl_l', control_r: 'ctrl_r', ctrl_r: 'ctrl_r',
  alt: 'alt', alt_l: 'alt_l', alt_r: 'alt_r', iso_level3_shift: 'alt_gr', altgr: 'alt_gr', alt_gr: 'alt_gr',
  shift: 'shift', shift_l: 'shift_l', shift_r: 'shift_r',
  super: 'cmd', super_l: 'cmd_l', super_r: 'cmd_r', meta: 'cmd', meta_l: 'cmd_l', meta_r: 'cmd_r',
  cmd: 'cmd', command: 'cmd', win: 'cmd', windows: 'cmd',
  caps_lock: 'caps_lock', num_lock: 'num_lock', scroll_lock: 'scroll_lock', pause: 'pause',
  print: 'print_screen', menu: 'menu',
  xf86audioplay: 'media_play_pause', xf86audiomute: 'media_volume_mute', xf86audiolowervolume: 'media_volume_down',
  xf86audioraisevolume: 'media_volume_up', xf86audioprev: 'media_previous', xf86audionext: 'media_next',
  kp_add: '+', kp_subtract: '-', kp_multiply: '*', kp_divide: '/', kp_decimal: '.', kp_equal: '=',
  ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`kp_${i}`, String(i)])),
  ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i + 1}`, `f${i + 1}`])),
};

/** cua names and aliases (lower-cased) -> xdotool keysyms. */
const TO_XDOTOOL: Readonly<Record<string, string>> = {
  enter: 'Return', return: 'Return',
  esc: 'Escape', escape: 'Escape',
  backspace: 'BackSpace', bsp: 'BackSpace',
  delete: 'Delete', del: 'Delete',
  tab: 'Tab', space: 'space',
  up: 'Up', down: 'Down', left: 'Left', right: 'Right',
  home: 'Home', end: 'End',
  page_up: 'Page_Up', pageup: 'Page_Up', pgup: 'Page_Up',
  page_down: 'Page_Down', pagedown: 'Page_Down', pgdn: 'Page_Down',
  insert: 'Insert', ins: 'Insert',
  ctrl: 'ctrl', control: 'ctrl', ctrl_l: 'Control_L', lctrl: 'Control_L', ctrl_r: 'Control_R', rctrl: 'Control_R',
  alt: 'alt', option: 'alt', alt_l: 'Alt_L', lalt: 'Alt_L', alt_r: 'Alt_R', ralt: 'Alt_R', alt_gr: 'ISO_Level3_Shift',
  shift: 'shift', shift_l: 'Shift_L', lshift: 'Shift_L', shift_r: 'Shift_R', rshift: 'Shift_R',
  cmd: 'super', command: 'super', win: 'super', windows: 'super', super: 'super', meta: 'super',
  cmd_l: 'Super_L', cmd_r: 'Super_R',
  caps_lock: 'Caps_Lock', capslock: 'Caps_Lock', caplk: 'Caps_Lock',
  num_lock: 'Num_Lock', numlk: 'Num_Lock', scroll_lock: 'Scroll_Lock', pause: 'Pause',
  print_screen: 'Print', printscreen: 'Print', print: 'Print', menu: 'Menu',
  media_play_pause: 'XF86AudioPlay', media_volume_mute: 'XF86AudioMute', media_volume_down: 'XF86AudioLowerVolume',
  media_volume_up: 'XF86AudioRaiseVolume', media_previous: 'XF86AudioPrev', media_next: 'XF86AudioNext',
  ...Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`f${i + 1}`, `F${i + 1}`])),
};

const MAX_KEY_NAME = 64;

function badKey(message: string): ComputerError {
  return new ComputerError('BAD_ARGUMENT', message);
}

/** Splits an xdotool key string into combos of key names; refuses empty and malformed input. */
export function parseXdotoolKeys(keys: string): string[][] {
  if (typeof keys !== 'string') throw badKey('keys must be a string');
  const combos = keys.trim().split(/\s+/).filter((c) => c.length > 0);
  if (combos.length === 0) throw badKey('no key given');
  return combos.map((combo) => {
    const parts = combo.split('+');
    if (parts.some((p) => p.length === 0 || p.length > MAX_KEY_NAME) || combo.includes('\0')) {
      throw badKey(`malformed key combo ${JSON.stringify(combo)}`);
    }
    return parts;
  });
}

/** One xdotool key name -> the cua name, or BAD_ARGUMENT when cua has no equivalent. */
export function xdotoolKeyToCua(name: string): string {
  if ([...name].length === 1) return name;
  const lower = name.toLowerCase();
  const mapped = TO_CUA[lower] ?? PUNCTUATION[lower];
  if (mapped === undefined) throw badKey(`key ${JSON.stringify(name)} has no equivalent in cua's key names`);
  return mapped;
}

/** "ctrl+alt+t Return" -> [["ctrl", "alt", "t"], ["enter"]]. */
export function xdotoolKeysToCua(keys: string): string[][] {
  return parseXdotoolKeys(keys).map((combo) => combo.map(xdotoolKeyToCua));
}

/**
 * One cua key name -> an xdotool keysym. Single characters become their keysym names (letters and
 * digits are their own; "-" is "minus"; non-ASCII is "U<hex>"); unknown longer names pass through
 * only when they look like a keysym ("KP_Enter", "XF86Back"), for xdotool to accept or refuse.
 */
export function cuaKeyToXdotool(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_NAME) throw badKey(`bad key name ${JSON.stringify(key)}`);
  const chars = [...key];
  if (chars.length === 1) {
    const ch = key;
    if (/^[A-Za-z0-9]$/.test(ch)) return ch;
    if (ch === '\n' || ch === '\r') return 'Return';
    if (ch === '\t') return 'Tab';
    const punct = PUNCTUATION_NAME[ch];
    if (punct !== undefined) return punct;
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || cp === 0x7f) throw badKey(`bad key name ${JSON.stringify(key)}`);
    return `U${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  const mapped = TO_XDOTOOL[key.toLowerCase()];
  if (mapped !== undefined) return mapped;
  if (/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) return key;
  throw badKey(`unknown key name ${JSON.stringify(key)}`);
}

/** A cua hotkey list -> one xdotool combo ("ctrl+alt+t"). */
export function cuaKeysToXdotoolCombo(keys: unknown): string {
  if (!Array.isArray(keys) || keys.length === 0) throw badKey('keys must be a non-empty list of key names');
  if (keys.length > 16) throw badKey('too many keys in one hotkey');
  return keys.map(cuaKeyToXdotool).join('+');
}
