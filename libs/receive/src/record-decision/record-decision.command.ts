import { Command } from '@nestjs/cqrs';
import type { DecisionEventReceipt } from '#libs/contracts';
import type { Caller } from '#libs/security';

export interface RecordDecisionResult {
  /** `duplicate`: the same event was stored before; the receipt is the original one. */
  outcome: 'accepted' | 'duplicate';
  receipt: DecisionEventReceipt;
}

/** Record one decision event reported by an EPJ (the body is not validated yet). */
export class RecordDecisionCommand extends Command<RecordDecisionResult> {
  constructor(readonly caller: Caller, readonly body: unknown) {
    super();
  }
}
