<?php
/**
 * The "Hosting plan" Module Setting (configoption16): the daemon's hosting plan profiles (GET
 * /v1/hosting-plans) as [id => name], after a "none" entry, the value of every product without a
 * profile (it deploys with its Module Settings and the built-in defaults, as before). A problem with
 * the answer is thrown, readable, as a loader shows a thrown Exception's message beside the field.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class HostingPlans
{
    /** The label of the empty choice: the value of every product without a hosting plan profile. */
    public const NONE = 'none (Module Settings and built-in defaults)';

    /** The setting's definition, appended to ConfigOptions at position 16. */
    public static function setting(): array
    {
        return [
            'FriendlyName' => 'Hosting plan',
            'Type' => 'dropdown',
            'Loader' => 'hostbridge_LoaderHostingPlans',
            'Description' => 'split, unified and vanity modes: the daemon\'s hosting plan profile, holding every HestiaCP package limit '
                . '(web domains, aliases, databases, cron jobs, FTP accounts, bandwidth, disk, DNS records, mail domains and accounts, backups) '
                . 'and the web, backend (PHP) and proxy templates; create profiles with hostbridge hosting-plan add or on the daemon\'s admin pages. '
                . 'With a profile the Module Settings 6 to 11 above are not read (the plan decides); the configurable options web_disk_quota, '
                . 'mail_disk_quota, web_bandwidth, web_domains, databases and mail_accounts still override it, as do web_aliases, cron_jobs, ftp_accounts, '
                . 'dns_records, mail_domains, backups, web_backups, mail_backups and the *_template options (docs/hosting-plans.md). '
                . 'Leave it at none to keep the Module Settings.',
            'SimpleMode' => true,
        ];
    }

    /**
     * @param array $answer the daemon's decoded answer
     * @return array<int|string, string>
     * @throws \Exception when the answer has no list of plans
     */
    public static function options(array $answer): array
    {
        $plans = $answer['plans'] ?? null;
        if (!is_array($plans)) {
            throw new \Exception('hostbridge: the daemon\'s answer to GET /v1/hosting-plans has no list of plans');
        }
        $out = ['' => self::NONE];
        foreach ($plans as $p) {
            $id = is_array($p) ? Text::int($p['id'] ?? null) : null;
            if ($id === null || $id <= 0) {
                continue;
            }
            $name = Text::str($p['name'] ?? '');
            $out[$id] = $name !== '' ? $name : ('plan ' . $id);
        }
        return $out;
    }
}
