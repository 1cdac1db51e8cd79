import { UserError } from '../../errors.ts';
import type { RegisterCommand } from './index.ts';

export const registerCollect: RegisterCommand = (program, app) => {
  program
    .command('collect')
    .description('pull usage from the configured OpenStack/OpenNebula sources into the event log')
    .argument('[source]', 'one source by name (default: all)')
    .option('--config <file>', 'collector configuration, JSON or YAML (env FEDLEDGER_COLLECTORS)')
    .option('--once', 'run one collection now and exit (scheduled runs belong to `serve`)')
    .action(async (name: string | undefined, options: { config?: string; once?: boolean }) => {
      if (!options.once)
        throw new UserError(
          'COLLECT_NEEDS_ONCE',
          'use `collect --once`; `serve` runs the collectors on their cron schedules',
        );
      const [{ loadCollectorConfig }, { runCollection }, { SingleBar, Presets }] = await Promise.all([
        import('../../collectors/config.ts'),
        import('../../collectors/run.ts'),
        import('cli-progress'),
      ]);
      const config = loadCollectorConfig(options.config);
      const selected = name ? config.sources.filter((s) => s.name === name) : config.sources;
      if (selected.length === 0) throw new UserError('UNKNOWN_SOURCE', `no collector source named ${name}`);
      const cli = app();
      const log = await cli.writableEventLog();
      let failed = 0;
      for (const source of selected) {
        const bar = new SingleBar(
          { format: `${source.name} [{bar}] {value}/{total} {label}`, stream: cli.stderr },
          Presets.shades_classic,
        );
        let started = false;
        const summary = await runCollection(log, source, {
          progress: (done, total, label) => {
            if (!started) bar.start(total, done, { label });
            started = true;
            bar.setTotal(total);
            bar.update(done, { label });
          },
        });
        if (started) bar.stop();
        cli.stdout.write(
          `${source.name}: ${summary.records} usage records, ${summary.stateChanges} state changes, ${summary.written} new events; ${summary.reachability.status}: ${summary.reachability.detail}\n`,
        );
        for (const f of summary.failures) cli.stderr.write(`${source.name}: ${f.scope}: ${f.message} [${f.code}]\n`);
        if (summary.reachability.status === 'CRITICAL') failed++;
      }
      if (failed)
        throw new UserError('COLLECT_FAILED', `${failed} of ${selected.length} sources could not be collected`);
    });
};
