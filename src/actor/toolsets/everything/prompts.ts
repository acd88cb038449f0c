/**
 * The conformance fixtures' prompts, and argument completion for `test_prompt_with_arguments`.
 * (The multi-round-trip prompt `test_input_required_result_prompt` is in input-required.ts.)
 */
import { completable, type GetPromptResult, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { PNG_1X1_BASE64 } from './fixtures.js';

/**
 * Like the reference server, completion offers no suggestions (`{ values: [], total: 0, hasMore:
 * false }`). Marking the arguments `completable` lets McpServer own `completion/complete` (and
 * declare `completions`), so other toolsets can add completable arguments of their own without a
 * handler clash.
 */
const noSuggestions = (): string[] => [];

export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    'test_simple_prompt',
    { title: 'Simple Test Prompt', description: 'A simple prompt without arguments' },
    async (): Promise<GetPromptResult> => ({
      messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      title: 'Prompt With Arguments',
      description: 'A prompt with required arguments',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), noSuggestions),
        arg2: completable(z.string().describe('Second test argument'), noSuggestions),
      }),
    },
    async ({ arg1, arg2 }): Promise<GetPromptResult> => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      title: 'Prompt With Embedded Resource',
      description: 'A prompt that includes an embedded resource',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    async ({ resourceUri }): Promise<GetPromptResult> => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_image',
    { title: 'Prompt With Image', description: 'A prompt that includes image content' },
    async (): Promise<GetPromptResult> => ({
      messages: [
        { role: 'user', content: { type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
      ],
    }),
  );
}
