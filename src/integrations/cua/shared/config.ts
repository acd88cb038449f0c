/**
 * The `cua` integration's configuration section (`cua.*`): read by the main thread (setup), its
 * values passed on to the computer hosts in their factory config.
 */
import { z } from 'zod';

const ms = (def: number) => z.number().int().min(0).default(def);
const positive = (def: number) => z.number().int().min(1).default(def);

/**
 * The `cua` toolset: its computers (resource actors, one host thread each, leased one per session)
 * and the model behind run_cua_task. Read only when the `cua` toolset is configured. Model settings
 * given here win; unset ones fall back to the environment (see src/integrations/cua/main/setup.ts).
 */
export const cuaSchema = z
  .object({
    /** "xvfb": local X displays started on demand; "cua": remote trycua computer-servers (remote.urls). */
    backend: z.enum(['xvfb', 'cua']).default('xvfb'),
    /** Most computers at once (leased or idle); a lease past it waits up to waitTimeoutMs. */
    maxComputers: positive(5),
    /** Computers kept started and idle, ready for the next session (0 = start on demand). */
    minComputers: z.number().int().min(0).default(0),
    /** How long a call waits for a free computer before it fails with LEASE_TIMEOUT. */
    waitTimeoutMs: positive(30_000),
    /** An unleased computer is shut down after this long (0 = as soon as it is returned). */
    idleTtlMs: ms(300_000),
    /** Every computer is probed this often; one that is dead or does not answer is replaced (0 = never). */
    healthIntervalMs: ms(5_000),
    /** Deadline of starting, resetting and stopping a computer. */
    opTimeoutMs: positive(30_000),
    /** Screen width of xvfb computers (a remote computer has its own size). */
    width: z.number().int().min(16).max(8192).default(1024),
    /** Screen height of xvfb computers. */
    height: z.number().int().min(16).max(8192).default(768),
    /** xvfb: extra environment of the desktop's programs (terminals), e.g. {"EDITOR": "nano"}. Nothing of the server's own environment reaches them but LANG, TZ and LC_*. */
    desktopEnv: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /**
     * xvfb: the sandbox every computer is (bubblewrap): its programs run as an unprivileged user
     * without capabilities, in their own user, mount, PID, IPC, UTS and network namespaces, with a
     * private home and /tmp and the system directories read-only. See the README's "Security model
     * of computers".
     */
    sandbox: z
      .object({
        /**
         * "none": no network at all, not even the host's loopback; "outbound": internet access
         * through slirp4netns, the host's loopback (this server, databases, NATS) refused;
         * "host": the host's network namespace — only for trusted tasks.
         */
        network: z.enum(['none', 'outbound', 'host']).default('none'),
        /** Host user id the computer's programs run as, when the server runs as root (a server running as another user runs them as itself). */
        uid: z.number().int().min(1).default(65534),
        /** Host group id they run as. */
        gid: z.number().int().min(1).default(65534),
        /** Most processes one computer may have (a cgroup; where cgroups cannot be written, not enforced and logged once). */
        maxProcesses: positive(512),
        /** Memory cap of one computer's processes, Xvfb included, in MB (a cgroup, as maxProcesses). */
        memoryMb: positive(2048),
        /** Size cap of a computer's home and of its /tmp (each a private tmpfs), in MB. */
        tmpfsMb: positive(512),
        /** Extra host paths the desktop sees read-only at the same path (an application in /opt, say). */
        readOnlyPaths: z.array(z.string().regex(/^\/[^\0]*$/, 'an absolute path')).default([]),
      })
      .strict()
      .prefault({}),
    remote: z
      .object({
        /**
         * computer-server endpoints (ws://host:8000/ws or http://host:8000). Each entry backs at most
         * one computer at a time; list a server that gives every connection its own computer (our
         * `mcp-actors computer-server`) once per computer it may lend.
         */
        urls: z.array(z.string().regex(/^(wss?|https?):\/\/[^\s]+$/, 'a ws(s):// or http(s):// URL')).default([]),
        /** Sent in the auth frame (env CUA_API_KEY); never logged. */
        apiKey: z.string().min(1).optional(),
        /** The sandbox's container name, for cua cloud's auth frame. */
        containerName: z.string().min(1).optional(),
        /** Deadline of each remote command. */
        timeoutMs: positive(15_000),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        /** Messages API origin (env ANTHROPIC_BASE_URL; default https://api.anthropic.com). */
        baseUrl: z.string().min(1).optional(),
        /** The Messages API key (env ANTHROPIC_API_KEY); never logged or shown. Without one, run_cua_task reports it missing. */
        apiKey: z.string().min(1).optional(),
        /** Model id (env CUA_MODEL_NAME). */
        model: z.string().min(1).optional(),
        /** Screenshots kept in each request to the model (env CUA_MAX_IMAGES; default 3). */
        maxImages: z.number().int().min(1).optional(),
        /** Most agent steps per task (env CUA_MAX_STEPS; default 30). */
        maxSteps: z.number().int().min(1).optional(),
        /** max_tokens of each model request (default 4096). */
        maxTokens: z.number().int().min(1).optional(),
        /**
         * Time budget of one task. Unless sessions.toolTimeoutsMs says otherwise, run_cua_task's
         * deadline is waitTimeoutMs + this + 15 s, run_multi_cua_tasks' waitTimeoutMs + 3 × this +
         * 15 s, and the other cua tools' (sessions.toolsetTimeoutsMs.cua) waitTimeoutMs + 60 s.
         */
        taskDeadlineMs: positive(300_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();
