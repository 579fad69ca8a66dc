// The API's OpenAPI document on standard output. Needs no configuration: it comes from the
// request schemas alone.
import { openApiDocument } from '../../api/openapi.ts';
import { noMore } from '../args.ts';
import type { CommandGroup } from '../command.ts';
import { out } from '../io.ts';

export const apiCommands: CommandGroup = {
  title: 'API',
  commands: [
    {
      name: 'openapi',
      usage: 'openapi',
      describe: 'print the OpenAPI document of the daemon\'s API',
      async run(args) {
        noMore(args, 'openapi');
        out(JSON.stringify(openApiDocument(), null, 2));
        return 0;
      },
    },
  ],
};
