import { UserError } from '../../errors.ts';
import type { RegisterCommand } from './index.ts';

export const registerProject: RegisterCommand = (program, app) => {
  program
    .command('project')
    .description('bring read models up to date with the event log, or rebuild them from the beginning')
    .argument('[name]', 'one projection by name (default: all)')
    .option('--rebuild', 'replay every event into a fresh read model and swap it in')
    .action(async (name: string | undefined, options: { rebuild?: boolean }) => {
      // Loaded here: naming the projections in --help would load them all, and SQLite, for every command.
      const [{ findProjection, projections, projectionsDir }, { ProjectionRunner }, { SingleBar, Presets }] =
        await Promise.all([
          import('../../projection/registry.ts'),
          import('../../projection/runner.ts'),
          import('cli-progress'),
        ]);
      const selected = name ? [findProjection(name)] : projections;
      if (selected.some((p) => p === undefined))
        throw new UserError('UNKNOWN_PROJECTION', `no projection named ${name}`);
      const cli = app();
      const log = await cli.eventLog();
      for (const projection of selected) {
        const runner = new ProjectionRunner(log, projection!, projectionsDir(cli.config.dataDir));
        // Progress is measured in log positions: the event count ahead is unknown until read.
        const bar = new SingleBar(
          { format: `${projection!.name} [{bar}] {percentage}% position {value}/{total}`, stream: cli.stderr },
          Presets.shades_classic,
        );
        const started = process.hrtime.bigint();
        let barStarted = false;
        const progress = (p: { head: bigint; position: bigint }) => {
          if (!barStarted) bar.start(Number(p.head), 0);
          barStarted = true;
          bar.update(Number(p.position));
        };
        const applied = options.rebuild ? await runner.rebuild(progress) : await runner.catchUp(progress);
        // Caught up means read to the head: the last events may belong to other projections, so the last position
        // this one applied can be short of it.
        if (barStarted) {
          bar.update(bar.getTotal());
          bar.stop();
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        await runner.close();
        cli.stdout.write(
          `${projection!.name}: ${applied} events applied in ${seconds.toFixed(2)} s (${Math.round(applied / Math.max(seconds, 1e-9))} events/s), checkpoint ${runner.checkpoint}\n`,
        );
      }
    });
};
