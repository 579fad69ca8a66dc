<?php
/**
 * The options of the "KVM profile" Module Setting (configoption15): the daemon's KVM profiles (GET
 * /v1/kvm-profiles) as [id => name], after a "none" entry, the value a hosting (non-KVM) product
 * keeps, so the dropdown stays usable where no profile exists yet. A problem with the answer is
 * thrown, readable, as a loader shows a thrown Exception's message beside the field.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class KvmProfiles
{
    /** The label of the empty choice: the value of every product that is not a KVM product. */
    public const NONE = 'none (not a KVM product)';

    /**
     * @param array $answer the daemon's decoded answer
     * @return array<int|string, string>
     * @throws \Exception when the answer has no list of profiles
     */
    public static function options(array $answer): array
    {
        $profiles = $answer['profiles'] ?? null;
        if (!is_array($profiles)) {
            throw new \Exception('hostbridge: the daemon\'s answer to GET /v1/kvm-profiles has no list of profiles');
        }
        $out = ['' => self::NONE];
        foreach ($profiles as $p) {
            $id = is_array($p) ? Text::int($p['id'] ?? null) : null;
            if ($id === null || $id <= 0) {
                continue;
            }
            $name = Text::str($p['name'] ?? '');
            $out[$id] = $name !== '' ? $name : ('profile ' . $id);
        }
        return $out;
    }
}
