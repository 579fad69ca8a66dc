// The ordered list of migrations. Add new files at the end; never edit one that has landed.
import type { Knex } from 'knex';
import * as m001 from './20261123000001_engine.ts';

interface Migration { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }

export const MIGRATIONS: ReadonlyArray<[string, Migration]> = [
  ['20261123000001_engine', m001],
];
