/** The default system prompt: what the model is driving, and how to finish. */
import type { Computer, ScreenSize } from '../../shared/computer.js';

export const DEFAULT_SYSTEM_PROMPT = [
  'You operate a computer through the `computer` tool: every action you take returns a screenshot of the screen afterwards.',
  'Work step by step, check each screenshot before the next action, and prefer keyboard shortcuts where they are reliable.',
  'If an action fails, the tool result says why; correct the action instead of repeating it.',
  'When the task is complete, stop using the tool and answer with a short summary of what you did and the outcome.',
].join('\n');

/** Facts of the local Xvfb backend the model could not guess from a black screen. */
const XVFB_NOTES = [
  'The computer is a bare Linux X11 desktop without a panel or window decorations.',
  'Press ctrl+alt+t to open a terminal (xterm); new windows receive keyboard focus, and clicking a window focuses it.',
].join('\n');

export function defaultSystemPrompt(computer: Computer, size: ScreenSize): string {
  const lines = [DEFAULT_SYSTEM_PROMPT, `The screen is ${size.width}x${size.height} pixels.`];
  if (computer.backend === 'xvfb') lines.push(XVFB_NOTES);
  return lines.join('\n');
}
