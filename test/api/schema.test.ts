import test from 'ava';
import { generate } from '@graphql-codegen/cli';
import { readFileSync } from 'node:fs';
import config from '../../codegen.ts';

test('the committed resolver types are what graphql-codegen generates from graphql/*.graphql (npm run codegen)', async (t) => {
  const outputs = (await generate({ ...config, silent: true }, false)) as Array<{ filename: string; content: string }>;
  t.is(outputs.length, 1);
  t.is(readFileSync(outputs[0]!.filename, 'utf8'), outputs[0]!.content);
});
