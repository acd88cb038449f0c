/**
 * Screenshot trimming: only the most recent images of the conversation are sent to the model.
 * Older image blocks (inside tool_results or anywhere else) are replaced in place by a short text
 * block, so every tool_result keeps its content and its tool_use pairing.
 */
import { isToolResultBlock, type ContentBlock, type Message, type TextBlock } from './wire.js';

export const IMAGE_PLACEHOLDER = '[older screenshot removed; only the most recent screenshots are kept]';

type Slot = { blocks: ContentBlock[]; index: number };

function collect(blocks: ContentBlock[], into: Slot[]): void {
  blocks.forEach((block, index) => {
    if (block.type === 'image') into.push({ blocks, index });
    else if (isToolResultBlock(block) && Array.isArray(block.content)) collect(block.content, into);
  });
}

/** Replaces all but the `keep` most recent images by IMAGE_PLACEHOLDER; returns how many it replaced. */
export function keepRecentImages(messages: Message[], keep: number): number {
  const slots: Slot[] = [];
  for (const m of messages) collect(m.content, slots);
  const drop = slots.slice(0, Math.max(0, slots.length - keep));
  const placeholder: TextBlock = { type: 'text', text: IMAGE_PLACEHOLDER };
  for (const { blocks, index } of drop) blocks[index] = { ...placeholder };
  return drop.length;
}
