<?php
/**
 * The options of the "Server group" Module Setting: the daemon's server groups (GET
 * /v1/server-groups) as [id => name]. A loader shows the message of a thrown Exception beside the
 * field, so every problem with the answer is thrown, readable.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class ServerGroups
{
    /**
     * @param array $answer the daemon's decoded answer
     * @return array<int, string>
     * @throws \Exception when the answer has no group to offer
     */
    public static function options(array $answer): array
    {
        $groups = $answer['groups'] ?? null;
        if (!is_array($groups)) {
            throw new \Exception('hostbridge: the daemon\'s answer to GET /v1/server-groups has no list of groups');
        }
        $out = [];
        foreach ($groups as $g) {
            $id = is_array($g) ? Text::int($g['id'] ?? null) : null;
            if ($id === null || $id <= 0) {
                continue;
            }
            $name = Text::str($g['name'] ?? '');
            $out[$id] = $name !== '' ? $name : ('group ' . $id);
        }
        if ($out === []) {
            throw new \Exception('hostbridge: the daemon has no server group yet; create one on the daemon first');
        }
        return $out;
    }
}
