/** `callscreen org …`: organisations, their own numbers (DIDs) and settings. */
import { Option, type Command } from 'commander';
import { BLOCK_MODES, type BlockMode } from '../../core/entry.js';
import {
  IDENTITY_ACTIONS,
  OUTBOUND_POLICIES,
  REJECT_CODES,
  type IdentityAction,
  type OutboundPolicy,
  type RejectCode,
} from '../../core/org-policy.js';
import type { Org } from '../../store/rows.js';
import type { CliContext } from '../cli-context.js';
import { renderTable } from '../table.js';

export function register(program: Command, ctx: CliContext): void {
  const org = program.command('org').description('organisations: add, list, their numbers and settings');

  org
    .command('add <org>')
    .description('add an organisation (ORG: lower-case id such as "acme")')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--region <cc>', 'ISO country code whose numbering plan reads national numbers (US, GB, DE…)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .action(async (slug: string, o: { name: string; region: string; by?: string }) => {
      const actor = ctx.actor(o.by);
      const s = await ctx.services();
      const added = await s.orgs.add(slug, o.name, o.region, actor);
      ctx.out(`added organisation ${added.slug} (${added.name}, region ${added.policy.region})`);
    });

  org
    .command('list')
    .description('list organisations with their settings and numbers')
    .option('--json', 'one JSON document')
    .action(async (o: { json?: boolean }) => {
      const s = await ctx.services();
      const orgs = await s.orgs.list();
      if (o.json) {
        ctx.json(orgs.map((x) => ({ slug: x.slug, name: x.name, ...x.policy, dids: x.dids })));
        return;
      }
      if (orgs.length === 0) {
        ctx.out('no organisations (add one: callscreen org add ORG --name NAME --region CC)');
        return;
      }
      for (const l of renderTable(
        ['Org', 'Name', 'Region', 'Default mode', 'Reject code', 'Outbound', 'Agents may block', 'Numbers'],
        orgs.map((x) => [
          x.slug,
          x.name,
          x.policy.region,
          x.policy.defaultMode,
          String(x.policy.rejectCode),
          x.policy.outboundPolicy,
          x.policy.agentsMayBlock ? 'on' : 'off',
          x.dids.join(' '),
        ]),
      ))
        ctx.out(l);
    });

  const did = org.command('did').description("the organisation's own numbers (never blockable)");
  did
    .command('add <org> <numbers...>')
    .description('add inbound numbers (DIDs) to an organisation; all or nothing')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .action(async (slug: string, numbers: string[], o: { by?: string }) => {
      const actor = ctx.actor(o.by);
      const s = await ctx.services();
      const added = await s.orgs.addDids(slug, numbers, actor);
      ctx.out(`${slug}: ${added.join(' ')}`);
    });

  did
    .command('remove <org> <numbers...>')
    .description(
      'remove inbound numbers (DIDs) from an organisation; all or nothing. Calls to them no longer find the organisation',
    )
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .action(async (slug: string, numbers: string[], o: { reason?: string; by?: string }) => {
      const s = await ctx.services();
      const removed = await s.orgs.removeDids(slug, numbers, ctx.actor(o.by), o.reason ?? '');
      ctx.out(`${slug}: removed ${removed.join(' ')}`);
    });

  org
    .command('settings <org>')
    .description("show or change an organisation's settings")
    .addOption(
      new Option('--agents-may-block <on|off>', 'agents may block callers (seed 002: off by default)').choices([
        'on',
        'off',
      ]),
    )
    .addOption(
      new Option('--outbound-policy <policy>', 'when an agent dials a blocked number').choices([...OUTBOUND_POLICIES]),
    )
    .addOption(new Option('--default-mode <mode>', 'mode of new blocks when none is given').choices([...BLOCK_MODES]))
    .addOption(new Option('--reject-code <code>', 'SIP status for rejected calls').choices(REJECT_CODES.map(String)))
    .addOption(
      new Option(
        '--attestation-failed <action>',
        'inbound calls whose STIR/SHAKEN verification failed (allow: no rule)',
      ).choices([...IDENTITY_ACTIONS]),
    )
    .addOption(
      new Option(
        '--own-did-unattested <action>',
        "a caller presenting one of the org's own numbers without attestation (allow: off)",
      ).choices([...IDENTITY_ACTIONS]),
    )
    .addOption(
      new Option(
        '--standins-unidentified <on|off>',
        'carrier stand-ins for "no caller ID" count as unidentified',
      ).choices(['on', 'off']),
    )
    .option('--name <name>', 'display name')
    .option('--region <cc>', 'ISO 3166 country whose numbering plan reads national numbers (US, GB, DE…)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'one JSON document')
    .action(
      async (
        slug: string,
        o: {
          agentsMayBlock?: string;
          outboundPolicy?: string;
          defaultMode?: string;
          rejectCode?: string;
          name?: string;
          region?: string;
          reason?: string;
          by?: string;
          json?: boolean;
          attestationFailed?: string;
          ownDidUnattested?: string;
          standinsUnidentified?: string;
        },
      ) => {
        const s = await ctx.services();
        const patch = {
          ...(o.agentsMayBlock !== undefined ? { agentsMayBlock: o.agentsMayBlock === 'on' } : {}),
          ...(o.outboundPolicy !== undefined ? { outboundPolicy: o.outboundPolicy as OutboundPolicy } : {}),
          ...(o.defaultMode !== undefined ? { defaultMode: o.defaultMode as BlockMode } : {}),
          ...(o.rejectCode !== undefined ? { rejectCode: Number(o.rejectCode) as RejectCode } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.attestationFailed !== undefined ? { attestationFailed: o.attestationFailed as IdentityAction } : {}),
          ...(o.ownDidUnattested !== undefined ? { ownDidUnattested: o.ownDidUnattested as IdentityAction } : {}),
          ...(o.standinsUnidentified !== undefined ? { standinsUnidentified: o.standinsUnidentified === 'on' } : {}),
        };
        // The region is checked before anything is written, so a bad one changes nothing.
        if (o.region !== undefined) s.orgs.checkRegion(o.region);
        let org =
          Object.keys(patch).length === 0
            ? await s.orgs.require(slug)
            : await s.orgs.updateSettings(slug, patch, ctx.actor(o.by), o.reason ?? '');
        if (o.region !== undefined) org = await s.orgs.setRegion(slug, o.region, ctx.actor(o.by), o.reason ?? '');
        if (o.json) ctx.json({ slug: org.slug, name: org.name, ...org.policy });
        else printSettings(ctx, org);
      },
    );
}

function printSettings(ctx: CliContext, org: Org): void {
  const p = org.policy;
  ctx.out(`organisation      ${org.slug} (${org.name})`);
  ctx.out(`region            ${p.region}`);
  ctx.out(`agents-may-block  ${p.agentsMayBlock ? 'on' : 'off'}`);
  ctx.out(`outbound-policy   ${p.outboundPolicy}`);
  ctx.out(`default-mode      ${p.defaultMode}`);
  ctx.out(`reject-code       ${p.rejectCode}`);
  ctx.out(`attestation-failed     ${p.attestationFailed}`);
  ctx.out(`own-did-unattested     ${p.ownDidUnattested}`);
  ctx.out(`standins-unidentified  ${p.standinsUnidentified ? 'on' : 'off'}`);
}
