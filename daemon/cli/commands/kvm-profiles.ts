// KVM product profiles from the command line: add and update read the profile as JSON on standard
// input (the same body as POST /v1/kvm-profiles), list prints one JSON line per profile, show one
// profile, remove refuses a profile a live service was built from.
import { checkBody } from '../../common/bodies.ts';
import { InputError } from '../../common/errors.ts';
import { addKvmProfile, getKvmProfile, listKvmProfiles, removeKvmProfile, updateKvmProfile } from '../../fleet/kvm-profiles.ts';
import type { KvmProfileInput } from '../../pipelines/kvm-product.ts';
import { id, noMore, positional } from '../args.ts';
import { UsageError, type CommandGroup } from '../command.ts';
import { report, withCore } from '../core.ts';
import { out, readStdin } from '../io.ts';

async function stdinJson(command: string): Promise<unknown> {
  const text = await readStdin();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${command} reads a JSON object on standard input; that was not JSON (${(err as Error).message})`);
  }
}

export const kvmProfileCommands: CommandGroup = {
  title: 'KVM product profiles (docs/proxmox-products.md; JSON on standard input)',
  commands: [
    {
      name: 'kvm-profile add', usage: 'kvm-profile add < profile.json', describe: 'add a KVM profile: see docs/proxmox-products.md for the fields',
      async run(args, ctx) {
        noMore(args, 'kvm-profile add');
        const body = await stdinJson('kvm-profile add');
        return report(ctx.config(), async (core) => `KVM profile ${await addKvmProfile(core.db, checkBody<KvmProfileInput>('KvmProfile', body))} added`);
      },
    },
    {
      name: 'kvm-profile list', usage: 'kvm-profile list', describe: 'list KVM profiles, one JSON line each',
      async run(args, ctx) {
        noMore(args, 'kvm-profile list');
        return withCore(ctx.config(), async (core) => {
          const rows = await listKvmProfiles(core.db);
          for (const r of rows) out(JSON.stringify(r));
          if (rows.length === 0) out('no KVM profiles yet');
          return 0;
        });
      },
    },
    {
      name: 'kvm-profile show', usage: 'kvm-profile show <id>', describe: 'print one KVM profile as JSON',
      async run(args, ctx) {
        const profileId = id(positional(args, 'a profile id', 'kvm-profile show'), 'the profile id');
        noMore(args, 'kvm-profile show');
        return withCore(ctx.config(), async (core) => {
          const p = await getKvmProfile(core.db, profileId);
          if (!p) throw new InputError('', `KVM profile ${profileId} does not exist`, 404);
          out(JSON.stringify(p, null, 2));
          return 0;
        });
      },
    },
    {
      name: 'kvm-profile update', usage: 'kvm-profile update <id> < profile.json', describe: 'replace a KVM profile with the body (fields left out take their defaults)',
      async run(args, ctx) {
        const profileId = id(positional(args, 'a profile id', 'kvm-profile update'), 'the profile id');
        noMore(args, 'kvm-profile update');
        const body = await stdinJson('kvm-profile update');
        return report(ctx.config(), async (core) => {
          await updateKvmProfile(core.db, profileId, checkBody<KvmProfileInput>('KvmProfile', body));
          return `KVM profile ${profileId} saved`;
        });
      },
    },
    {
      name: 'kvm-profile remove', usage: 'kvm-profile remove <id>', describe: 'remove a KVM profile no live service was built from',
      async run(args, ctx) {
        const profileId = id(positional(args, 'a profile id', 'kvm-profile remove'), 'the profile id');
        noMore(args, 'kvm-profile remove');
        return report(ctx.config(), async (core) => {
          await removeKvmProfile(core.db, profileId);
          return `KVM profile ${profileId} removed`;
        });
      },
    },
  ],
};
