/**
 * What the composition root (daemon/main.ts) hands to the parts it builds: `Services` to the CLI,
 * `DaemonContext` (the services plus the in-memory side) to adapters and the admin server. Types
 * only, in their own module so that those parts need not import main.ts, which imports them.
 */
import type { Logger } from 'pino';
import type { Clock, Scheduler } from './core/clock.js';
import type { NumberNormalizer } from './core/phone-number.js';
import type { Config } from './config/schema.js';
import type { AuditLog } from './services/audit-log.js';
import type { BlocklistService } from './services/blocklist-service.js';
import type { FloodPolicyService } from './services/flood-policy-service.js';
import type { HandsetBlockService } from './services/handset-block-service.js';
import type { ContactService } from './services/contact-service.js';
import type { Importer } from './services/importer.js';
import type { WhatIfService } from './services/what-if.js';
import type { StaleReportService } from './services/stale-report.js';
import type { OrgService } from './services/org-service.js';
import type { RuleService } from './services/rule-service.js';
import type { QuarantineService } from './services/quarantine-service.js';
import type { AgentNotifier } from './agents/agent-notifier.js';
import type { ScreenRecorder } from './services/screen-recorder.js';
import type { Screener } from './services/screener.js';
import type { ScreeningService } from './services/screening-service.js';
import type { DaemonMetrics } from './ops/metrics.js';
import type { OpsView } from './ops/ops-view.js';
import type { ChangeFeed } from './store/change-feed.js';
import type { Database } from './store/database.js';
import type { ScreeningIndex } from './store/screening-index.js';
import type { SharedStore } from './store/shared-store.js';

/** The database and the services that write to it: what the CLI needs (`openServices`). */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly db: Database;
  readonly normalizer: NumberNormalizer;
  readonly audit: AuditLog;
  readonly orgs: OrgService;
  readonly contacts: ContactService;
  readonly blocklist: BlocklistService;
  readonly importer: Importer;
  /** Replays recorded calls against a proposed entry before it is saved (issue #16). */
  readonly whatIf: WhatIfService;
  /** Entries that do nothing (expired, unused, shadowed) and their clean-up (issue #16). */
  readonly stale: StaleReportService;
  /** The shared PostgreSQL store when [store] backend = "postgres" (issue #15); absent for one node. */
  readonly shared?: SharedStore;
  /** Per-org flood detection settings (`callscreen flood`). */
  readonly flood: FloodPolicyService;
  /** Feature codes on the phone (block the last or current caller) and the requests they queue. */
  readonly handset: HandsetBlockService;
  /** Disable/enable, observe mode and its report, allowlist-only DIDs, the pattern minimum (issue #16). */
  readonly rules: RuleService;
  close(): Promise<void>;
}

/** What adapters and the admin server receive. */
export interface DaemonContext extends Services {
  readonly reader: Database;
  readonly index: ScreeningIndex;
  readonly feed: ChangeFeed;
  readonly recorder: ScreenRecorder;
  readonly screener: Screener;
  /** The screening policy every PBX adapter asks: org resolution, the verdict, fail mode. */
  readonly screening: ScreeningService;
  readonly quarantine: QuarantineService;
  /** Sends agents their warnings; null when no PBX link (AMI/ESL) is enabled. */
  readonly agentNotifier: AgentNotifier | null;
  readonly timers: Scheduler;
  /**
   * `config` always returns the current config: after a reload (SIGHUP) it is the new one, so read
   * it at use time (e.g. screening.deadline_ms per call) rather than copying values at start.
   */
  /** Prometheus registry and verdict counters of this daemon (served at /metrics). */
  readonly metrics: DaemonMetrics;
  /** Readiness and lag view for /readyz and /metrics. */
  readonly ops: OpsView;
}
