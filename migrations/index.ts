// The ordered list of migrations. Add new files at the end; never edit one that has landed.
import type { Knex } from 'knex';
import * as m001 from './20261123000001_engine.ts';
import * as m002 from './20261123000002_fleet_api.ts';
import * as m003 from './20261123000003_deploy_state.ts';
import * as m004 from './20261123000004_ui.ts';
import * as m005 from './20261123000005_server_health.ts';
import * as m006 from './20261202000006_drop_unread.ts';
import * as m20261206_3 from './202612060003_admin_actions.ts';
import * as m20261206_4 from './20261206000400_step_dependencies.ts';

interface Migration { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }

export const MIGRATIONS: ReadonlyArray<[string, Migration]> = [
  ['20261123000001_engine', m001],
  ['20261123000002_fleet_api', m002],
  ['20261123000003_deploy_state', m003],
  ['20261123000004_ui', m004],
  ['20261123000005_server_health', m005],
  ['20261202000006_drop_unread', m006],
  ['202612060003_admin_actions', m20261206_3],
  ['20261206000400_step_dependencies', m20261206_4],
];
