<?php
/**
 * HTTP client of the hostbridge daemon: builds the daemon's URL from the WHMCS server record,
 * signs every request as docs/api.md describes, and turns every failure into one readable
 * message (DaemonError). The shared secret never appears in a message (Text::scrub).
 *
 * Signing: X-Hostbridge-Timestamp (Unix seconds), X-Hostbridge-Nonce (32 hex digits, new per
 * request) and X-Hostbridge-Signature = "v1=" . hex HMAC-SHA256, keyed with the secret, of
 * "METHOD\nPATH\nTIMESTAMP\nNONCE\n" . sha256_hex(BODY), PATH being the request target exactly as sent.
 *
 * Versions: every request names the module's version (X-Hostbridge-Module-Version, unsigned); the
 * daemon refuses a module that does not go with it (same major, and for 0.x the same minor) with a
 * message naming both, which this client passes on as it is.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class DaemonClient
{
    public const DEFAULT_PORT = 8740;
    public const CONNECT_TIMEOUT_S = 3;
    public const TOTAL_TIMEOUT_S = 10;
    /** This module's release: the daemon's package.json version it ships with (a test pins them together). */
    public const MODULE_VERSION = '0.1.0';
    public const VERSION_HEADER = 'X-Hostbridge-Module-Version';

    private string $baseUrl;
    private string $secret;
    private int $connectTimeout;
    private int $timeout;
    private string $moduleVersion;

    /** $moduleVersion: the version this client announces (tests name another; WHMCS always uses MODULE_VERSION). */
    public function __construct(string $baseUrl, string $secret, int $connectTimeout = self::CONNECT_TIMEOUT_S, int $timeout = self::TOTAL_TIMEOUT_S, string $moduleVersion = self::MODULE_VERSION)
    {
        $this->baseUrl = rtrim($baseUrl, '/');
        $this->secret = $secret;
        $this->connectTimeout = $connectTimeout;
        $this->timeout = $timeout;
        $this->moduleVersion = $moduleVersion;
    }

    public function moduleVersion(): string
    {
        return $this->moduleVersion;
    }

    /** Whether two versions go together: the same major, and for 0.x the same minor (docs/api.md). */
    public static function versionsCompatible(string $a, string $b): bool
    {
        $x = self::parseVersion($a);
        $y = self::parseVersion($b);
        if ($x === null || $y === null) {
            return false;
        }
        return $x[0] === $y[0] && ($x[0] !== 0 || $x[1] === $y[1]);
    }

    /** The line of versions that go with $v: "1.x", or for 0.x "0.3.x". */
    public static function compatibleLine(string $v): string
    {
        $p = self::parseVersion($v);
        if ($p === null) {
            return $v;
        }
        return $p[0] === 0 ? '0.' . $p[1] . '.x' : $p[0] . '.x';
    }

    /** @return array{0:int,1:int,2:int}|null */
    private static function parseVersion(string $v): ?array
    {
        if (!preg_match('/^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-[0-9A-Za-z.-]{1,64})?(?:\+[0-9A-Za-z.-]{1,64})?$/', trim($v), $m)) {
            return null;
        }
        return [(int) $m[1], (int) $m[2], (int) $m[3]];
    }

    /**
     * The client for the WHMCS server record in $params: https when serversecure is on, host =
     * serverhostname or serverip, port = serverport or 8740, secret = serverpassword.
     *
     * @throws DaemonError when the server record lacks the host or the secret
     */
    public static function fromParams(array $params): self
    {
        $secret = Text::str($params['serverpassword'] ?? '');
        $host = Text::str($params['serverhostname'] ?? '');
        if ($host === '') {
            $host = Text::str($params['serverip'] ?? '');
        }
        if ($host === '') {
            throw new DaemonError('no daemon address: set the hostname or IP address of the hostbridge server record in WHMCS (Products/Services › Servers)');
        }
        if ($secret === '') {
            throw new DaemonError('no shared secret: set the password of the hostbridge server record in WHMCS to the daemon\'s HOSTBRIDGE_SECRET');
        }
        return new self(self::baseUrlFor($host, $params['serverport'] ?? null, $params['serversecure'] ?? null), $secret);
    }

    /** "http(s)://host:port" from the parts of a WHMCS server record. */
    public static function baseUrlFor(string $host, $port, $secure): string
    {
        $host = trim($host);
        $scheme = Text::isOn($secure) ? 'https' : 'http';
        // Tolerate a hostname typed as a URL ("https://daemon.example:8740/").
        if (preg_match('~^(https?)://~i', $host, $m)) {
            $scheme = strtolower($m[1]);
            $host = substr($host, strlen($m[0]));
        }
        $host = rtrim(explode('/', $host, 2)[0], '/');
        $portInHost = null;
        if (preg_match('~^\[([0-9a-f:.]+)\](?::(\d+))?$~i', $host, $m)) {
            $host = '[' . $m[1] . ']'; // a bracketed IPv6 literal, maybe with a port
            $portInHost = $m[2] ?? null;
        } elseif (substr_count($host, ':') >= 2) {
            $host = '[' . $host . ']'; // a bare IPv6 literal
        } elseif (preg_match('~^(.+):(\d+)$~', $host, $m)) {
            $host = $m[1];
            $portInHost = $m[2];
        }
        if ($portInHost !== null && $portInHost !== '' && ($port === null || $port === '' || (int) $port <= 0)) {
            $port = $portInHost;
        }
        $p = (int) (is_scalar($port) ? $port : 0);
        if ($p <= 0 || $p > 65535) {
            $p = self::DEFAULT_PORT;
        }
        return $scheme . '://' . $host . ':' . $p;
    }

    public function baseUrl(): string
    {
        return $this->baseUrl;
    }

    /** The three signing headers for one request (name => value). */
    public static function signatureHeaders(string $secret, string $method, string $path, string $body, ?int $timestamp = null, ?string $nonce = null): array
    {
        $ts = (string) ($timestamp ?? time());
        $nonce = $nonce ?? bin2hex(random_bytes(16));
        $toSign = strtoupper($method) . "\n" . $path . "\n" . $ts . "\n" . $nonce . "\n" . hash('sha256', $body);
        return [
            'X-Hostbridge-Timestamp' => $ts,
            'X-Hostbridge-Nonce' => $nonce,
            'X-Hostbridge-Signature' => 'v1=' . hash_hmac('sha256', $toSign, $secret),
        ];
    }

    /**
     * Sends one signed request and returns the decoded JSON answer of a 2xx.
     *
     * @param array|null $body encoded as JSON (null: no body, as for GET)
     * @return array{status:int, data:array, raw:string}
     * @throws DaemonError with a readable message on any failure
     */
    public function request(string $method, string $path, ?array $body = null): array
    {
        $method = strtoupper($method);
        if (!function_exists('curl_init')) {
            throw new DaemonError('the PHP curl extension is not installed on the WHMCS server (Debian/Ubuntu: apt-get install php-curl)');
        }
        $payload = '';
        if ($body !== null) {
            $payload = json_encode($body === [] ? new \stdClass() : $body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
            if ($payload === false) {
                throw new DaemonError('the request could not be encoded as JSON: ' . json_last_error_msg());
            }
        }
        $url = $this->baseUrl . $path;
        $headers = ['Accept: application/json', 'Expect:'];
        if ($body !== null) {
            $headers[] = 'Content-Type: application/json';
        }
        foreach (self::signatureHeaders($this->secret, $method, $path, $payload) as $name => $value) {
            $headers[] = $name . ': ' . $value;
        }
        $headers[] = self::VERSION_HEADER . ': ' . $this->moduleVersion;

        $ch = curl_init();
        curl_setopt_array($ch, [
            CURLOPT_URL => $url,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT => $this->connectTimeout,
            CURLOPT_TIMEOUT => $this->timeout,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
        ]);
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, $payload);
        }
        $raw = curl_exec($ch);
        $errno = curl_errno($ch);
        $error = curl_error($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);

        if ($raw === false || $errno !== 0) {
            if ($errno === 28 /* CURLE_OPERATION_TIMEDOUT */ && stripos($error, 'connect') === false) {
                throw new DaemonError($this->clean("the hostbridge daemon at {$this->baseUrl} did not answer within {$this->timeout} s ({$error})"));
            }
            $hint = '';
            if ($errno === 35) { // CURLE_SSL_CONNECT_ERROR
                $hint = ' (TLS handshake failed: untick "secure" on the server record if the daemon speaks plain HTTP, or check the TLS proxy)';
            } elseif ($errno === 51 || $errno === 60) { // CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT
                $hint = ' (the TLS certificate of the daemon\'s proxy is not trusted for this hostname)';
            }
            throw new DaemonError($this->clean("cannot reach the hostbridge daemon at {$this->baseUrl}: " . ($error !== '' ? $error : "curl error {$errno}") . $hint));
        }
        $raw = (string) $raw;
        $data = json_decode($raw, true);
        if (!is_array($data)) {
            $snippet = trim(preg_replace('/\s+/', ' ', strip_tags(substr($raw, 0, 300))) ?? '');
            throw new DaemonError($this->clean("the server at {$this->baseUrl} answered HTTP {$status} with something that is not the hostbridge daemon's JSON"
                . ($snippet !== '' ? ": {$snippet}" : ' (empty answer)')
                . '; check the host and port of the server record'), $status, $raw);
        }
        $reason = self::refusal($data);
        if ($status === 401) {
            throw new DaemonError($this->clean('the daemon refused the signature: check the server password matches HOSTBRIDGE_SECRET'
                . ($reason !== '' ? " (daemon said: {$reason})" : '')), $status, $raw);
        }
        if (($data['code'] ?? null) === 'module_version' && $reason !== '') {
            // The daemon's own words name both versions and what goes together.
            throw new DaemonError($this->clean($reason), $status, $raw);
        }
        if ($status < 200 || $status >= 300) {
            throw new DaemonError($this->clean("the daemon answered HTTP {$status}: " . ($reason !== '' ? $reason : 'no error message')), $status, $raw);
        }
        return ['status' => $status, 'data' => $data, 'raw' => $raw];
    }

    /**
     * The daemon's refusal as the admin reads it: its `error`, and the `field` it blames only when
     * the text does not name it already (the daemon's text starts with it: "product: must be …").
     */
    public static function refusal(array $data): string
    {
        $reason = isset($data['error']) && is_scalar($data['error']) ? (string) $data['error'] : '';
        $field = isset($data['field']) && is_scalar($data['field']) ? (string) $data['field'] : '';
        if ($field !== '' && !preg_match('/(?<![\w.])' . preg_quote($field, '/') . '(?![\w])/', $reason)) {
            $reason .= ($reason !== '' ? ' ' : '') . '(field: ' . $field . ')';
        }
        return $reason;
    }

    /** Removes the secret from a message, should anything ever echo it. */
    private function clean(string $message): string
    {
        return Text::scrub($message, [$this->secret]);
    }
}
