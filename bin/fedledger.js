#!/usr/bin/env -S node --max-semi-space-size=64
// Runs the TypeScript CLI through tsx, so a checkout works without a build step.
// A 64 MiB young generation: ingest and projection keep a batch's objects alive across a few
// scavenges, and with the default 16 MiB they were promoted and collected by full GCs (bench:accounting).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
