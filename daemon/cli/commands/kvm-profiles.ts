// KVM product profiles from the command line: add and update read the profile as JSON on standard
// input (the same body as POST /v1/kvm-profiles), list prints one JSON line per profile, show one
// profile, remove refuses a profile a live service was built from.
import { checkBody } from '../../common/bodies.ts';
import { addKvmProfile, getKvmProfile, listKvmProfiles, removeKvmProfile, updateKvmProfile } from '../../fleet/kvm-profiles.ts';
import type { KvmProfileInput } from '../../pipelines/kvm-product.ts';
import { noMore } from '../args.ts';
import type { CommandGroup } from '../command.ts';
import { report } from '../core.ts';
import { readStdinJson as stdinJson } from '../io.ts';
import { listCommand, profileId, removeCommand, showCommand, type ProfileKind } from './profile-commands.ts';

const kind: ProfileKind = {
  command: 'kvm-profile', noun: 'KVM profile', plural: 'KVM profiles', removeVerb: 'remove',
  list: listKvmProfiles, get: getKvmProfile, remove: removeKvmProfile,
};

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
    listCommand(kind),
    showCommand(kind),
    {
      name: 'kvm-profile update', usage: 'kvm-profile update <id> < profile.json', describe: 'replace a KVM profile with the body (fields left out take their defaults)',
      async run(args, ctx) {
        const pid = profileId(args, kind, 'update');
        noMore(args, 'kvm-profile update');
        const body = await stdinJson('kvm-profile update');
        return report(ctx.config(), async (core) => {
          await updateKvmProfile(core.db, pid, checkBody<KvmProfileInput>('KvmProfile', body));
          return `KVM profile ${pid} saved`;
        });
      },
    },
    removeCommand(kind),
  ],
};
