import { Global, Injectable, Module } from '@nestjs/common';

export interface ReadinessResult {
  /** `degraded` serves (200) but says what is behind; `down` makes /health/ready 503. */
  status: 'up' | 'degraded' | 'down';
  [detail: string]: unknown;
}

/** Checks that modules add to /health/ready (the database check is built in). */
@Injectable()
export class ReadinessChecks {
  readonly checks = new Map<string, () => Promise<ReadinessResult>>();
  register(name: string, check: () => Promise<ReadinessResult>): void {
    this.checks.set(name, check);
  }
}

@Global()
@Module({ providers: [ReadinessChecks], exports: [ReadinessChecks] })
export class ReadinessModule {}
