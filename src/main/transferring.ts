/** A runtime call's result that carries transferables (e.g. a lease's MessagePort) to the actor thread. */
import type { TransferListItem } from 'node:worker_threads';

export class Transferring {
  constructor(
    readonly value: unknown,
    readonly transfer: TransferListItem[],
  ) {}
}

