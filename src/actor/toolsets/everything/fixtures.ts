/**
 * Static fixture data for the `everything` toolset: the contents and schemas the MCP conformance
 * suites (@modelcontextprotocol/conformance 0.1.13 for 2025-era sessions, 0.2.0-alpha.12 for
 * 2026-07-28) expect of the server under test. The binary payloads below were generated for this
 * project (a 1×1 red RGB PNG and a four-sample silent 16-bit mono 8 kHz PCM WAV); only their kind
 * and MIME type matter to the suites.
 */
import type { ElicitRequestFormParams, JsonSchemaType } from '@modelcontextprotocol/server';

type RequestedSchema = ElicitRequestFormParams['requestedSchema'];

/** The `logger` of every `notifications/message` this toolset sends. */
export const LOGGER = 'everything';

/** A 1×1 red pixel, PNG, base64. */
export const PNG_1X1_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC';

/** Four samples of silence, 16-bit mono 8 kHz PCM WAV, base64. */
export const WAV_SILENCE_BASE64 =
  'UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQgAAAAAAAAAAAAAAA==';

export const STATIC_TEXT_URI = 'test://static-text';
export const STATIC_BINARY_URI = 'test://static-binary';
export const WATCHED_URI = 'test://watched-resource';
export const TEMPLATE_URI = 'test://template/{id}/data';

export const STATIC_TEXT = 'This is the content of the static text resource.';
export const WATCHED_TEXT = 'Watched resource content';

/** The JSON Schema 2020-12 dialect URI the `json-schema-2020-12` scenario expects verbatim. */
export const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * `json_schema_2020_12_tool`'s input schema, advertised by `tools/list` exactly as written here:
 * the SEP-1613 keywords 0.1.13 checks (`$schema`, `$defs.address`, `additionalProperties: false`)
 * plus the SEP-2106 vocabulary 0.2 checks at 2026-07-28 (`$anchor` inside `$defs`, `allOf`/`anyOf`,
 * `if`/`then`/`else`). `tools/call` validates arguments against it too: a phone or an email is
 * required, and the phone when `contactMethod` is `phone`, the email otherwise.
 */
export const JSON_SCHEMA_2020_12_INPUT = {
  $schema: JSON_SCHEMA_2020_12,
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
} as const satisfies JsonSchemaType;

/**
 * `test_x_mcp_header`'s input schema (SEP-2243): `region` is mirrored into the `Mcp-Param-Region`
 * header by 2026-07-28 clients on Streamable HTTP, and the SDK checks header against body.
 */
export const X_MCP_HEADER_INPUT = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    level: { type: 'integer' },
  },
  required: ['region'],
} as const;

/** `test_elicitation`'s form: one required free-text answer. */
export const ELICITATION_RESPONSE_SCHEMA: RequestedSchema = {
  type: 'object',
  properties: { response: { type: 'string', description: "User's response" } },
  required: ['response'],
};

/** SEP-1034: one field per primitive type, each with a default. */
export const SEP1034_REQUESTED_SCHEMA: RequestedSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', description: 'User name', default: 'John Doe' },
    age: { type: 'integer', description: 'User age', default: 30 },
    score: { type: 'number', description: 'User score', default: 95.5 },
    status: {
      type: 'string',
      description: 'User status',
      enum: ['active', 'inactive', 'pending'],
      default: 'active',
    },
    verified: { type: 'boolean', description: 'Verification status', default: true },
  },
  required: [],
};

/** SEP-1330: the five enum shapes (untitled/titled/legacy single-select, untitled/titled multi-select). */
export const SEP1330_REQUESTED_SCHEMA: RequestedSchema = {
  type: 'object',
  properties: {
    untitledSingle: {
      type: 'string',
      description: 'Select one option',
      enum: ['option1', 'option2', 'option3'],
    },
    titledSingle: {
      type: 'string',
      description: 'Select one option with titles',
      oneOf: [
        { const: 'value1', title: 'First Option' },
        { const: 'value2', title: 'Second Option' },
        { const: 'value3', title: 'Third Option' },
      ],
    },
    legacyEnum: {
      type: 'string',
      description: 'Select one option (legacy)',
      enum: ['opt1', 'opt2', 'opt3'],
      enumNames: ['Option One', 'Option Two', 'Option Three'],
    },
    untitledMulti: {
      type: 'array',
      description: 'Select multiple options',
      minItems: 1,
      maxItems: 3,
      items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
    },
    titledMulti: {
      type: 'array',
      description: 'Select multiple options with titles',
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: 'value1', title: 'First Choice' },
          { const: 'value2', title: 'Second Choice' },
          { const: 'value3', title: 'Third Choice' },
        ],
      },
    },
  },
  required: [],
};
