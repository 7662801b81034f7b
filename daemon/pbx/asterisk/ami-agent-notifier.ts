/**
 * Warns agents through AMI `MessageSend`: a SIP MESSAGE to the agent's PJSIP endpoint, which every
 * registered contact of the endpoint receives (desk phone, SIP.js softphone over WebSocket).
 *
 * One call can be seen twice, by the `call-outbound` AGI and by the `DialBegin` event (and again
 * after a `confirm` prompt leads to Dial): warnings are deduplicated by call id within a window.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { warningText, type AgentNotifier, type AgentWarning } from '../../agents/agent-notifier.js';
import type { AmiActions } from './ami-client.js';

export interface AmiAgentNotifierOptions {
  /** From URI of warning messages (config `agents.message_from`). */
  readonly messageFrom: string;
  /**
   * A second warning for the same call id within this window is skipped (ms, default 30,000: covers
   * the AGI → confirm prompt (10 s) → Dial → DialBegin sequence of one call).
   */
  readonly dedupWindowMs?: number;
}

export class AmiAgentNotifier implements AgentNotifier {
  /** callId → epoch ms of its warning; pruned on every notify, so bounded by calls per window. */
  private readonly recent = new Map<string, number>();
  private readonly dedupWindowMs: number;
  readonly counters = { sent: 0, failed: 0, deduplicated: 0 };

  constructor(
    private readonly ami: AmiActions,
    private readonly options: AmiAgentNotifierOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.dedupWindowMs = options.dedupWindowMs ?? 30_000;
  }

  async notify(w: AgentWarning): Promise<boolean> {
    const now = this.clock.now();
    for (const [id, at] of this.recent) if (now - at >= this.dedupWindowMs) this.recent.delete(id);
    if (w.callId !== undefined && w.callId !== '') {
      if (this.recent.has(w.callId)) {
        this.counters.deduplicated++;
        this.logger.debug({ callId: w.callId, endpoint: w.endpoint }, 'agent already warned for this call');
        return true;
      }
      // Claimed before the await: the AGI and DialBegin paths can race for the same call.
      this.recent.set(w.callId, now);
    }
    const log = { org: w.org, endpoint: w.endpoint, number: w.number, action: w.verdict.action, callId: w.callId };
    try {
      await this.ami.action('MessageSend', {
        To: `pjsip:${w.endpoint}`,
        From: this.options.messageFrom,
        Body: warningText(w),
      });
      this.counters.sent++;
      this.logger.info(log, 'agent warned');
      return true;
    } catch (err) {
      // Let the other hook of the same call try again.
      if (w.callId !== undefined) this.recent.delete(w.callId);
      this.counters.failed++;
      this.logger.warn(
        { ...log, error: (err as Error).message, code: (err as { code?: string }).code },
        'agent warning not sent',
      );
      return false;
    }
  }
}
