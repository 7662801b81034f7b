/** `callscreen calls`: the recent screened calls and messages of an organisation (the `screened` table). */
import { Option, type Command } from 'commander';
import { VERDICT_ACTIONS, type VerdictAction } from '../../core/verdict.js';
import type { CliContext } from '../cli-context.js';
import { ScreenRecorder } from '../../services/screen-recorder.js';
import { RecentCalls } from '../../services/recent-calls.js';
import { nonNegativeInt, positiveInt } from '../options.js';
import { clip, formatTime, renderTable } from '../table.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('calls')
    .description('recent screened calls and SMS, newest first: time, from, to, action and the rule that decided')
    .requiredOption('--org <org>', 'organisation')
    .option('--limit <n>', 'at most this many (default 50, max 1000)', positiveInt('--limit'))
    .option('--offset <n>', 'skip this many (newest) first: the next page', nonNegativeInt('--offset'))
    .option('--channel <channel>', 'call or sms (default both)')
    .addOption(new Option('--verdict <action>', 'only calls that got this verdict').choices([...VERDICT_ACTIONS]))
    .option('--number <digits>', 'only calls whose caller or called number contains these digits (any format)')
    .option('--json', 'one JSON document')
    .action(
      async (o: {
        org: string;
        limit?: number;
        offset?: number;
        channel?: string;
        verdict?: VerdictAction;
        number?: string;
        json?: boolean;
      }) => {
        const s = await ctx.services();
        const org = await s.orgs.require(o.org);
        const channel = o.channel === 'call' || o.channel === 'sms' ? o.channel : undefined;
        // The daemon writes records behind (records.flush_ms, default 500 ms): the newest may not be here yet.
        // With several nodes on one PostgreSQL (issue #15): every node's calls, with the node's name.
        const recorder = new ScreenRecorder(s.db, s.clock, s.logger);
        const { calls: rows, scope } = await new RecentCalls(s.db, recorder, s.shared?.pg ?? null).find(org.id, {
          limit: o.limit ?? 50,
          offset: o.offset ?? 0,
          ...(channel ? { channel } : {}),
          ...(o.verdict ? { action: o.verdict } : {}),
          ...(o.number ? { number: o.number } : {}),
        });
        const nodes = s.shared !== undefined;
        if (o.json) {
          ctx.json({
            org: org.slug,
            ...(nodes ? { scope } : {}),
            calls: rows.map((r) => ({
              id: r.id,
              ...(nodes ? { node: r.node ?? null } : {}),
              at: new Date(r.at).toISOString(),
              channel: r.channel,
              direction: r.direction,
              from: r.from_raw,
              to: r.to_raw,
              number: r.number,
              action: r.action,
              rule: r.rule_kind ? `${r.rule_kind}:${r.rule_id ?? ''}` : null,
              reason: r.reason,
              adapter: r.adapter,
              callId: r.call_id,
              failMode: r.fail_mode,
              latencyUs: r.latency_us,
              attestation: r.attestation,
            })),
          });
          return;
        }
        if (s.shared && scope === 'node')
          ctx.out(`the shared store ${s.shared.pg.where} cannot be reached: this node's calls only`);
        if (rows.length === 0) {
          ctx.out(`no screened calls for ${org.slug}`);
          return;
        }
        const table = rows.map((r) => [
          formatTime(r.at),
          ...(nodes ? [clip(r.node ?? '', 20)] : []),
          `${r.channel} ${r.direction === 'inbound' ? 'in' : 'out'}`,
          clip(r.from_raw, 32),
          clip(r.to_raw, 24),
          r.fail_mode ? `${r.action} (fail-${r.fail_mode})` : r.action,
          r.rule_kind ? `${r.rule_kind}:${r.rule_id ?? ''}` : '',
          r.attestation ?? '',
          clip(r.reason),
        ]);
        // STIR/SHAKEN: the carrier's verstat (passed-A, failed, no-validation), empty when it sent none.
        for (const l of renderTable(
          ['When', ...(nodes ? ['Node'] : []), 'Kind', 'From', 'To', 'Action', 'Rule', 'Attest', 'Reason'],
          table,
        ))
          ctx.out(l);
      },
    );
}
