<?php
/**
 * A failed call to the daemon (or a module parameter it cannot be sent without). The message is
 * meant for WHMCS staff and never holds the shared secret.
 */

namespace WHMCS\Module\Server\Hostbridge;

/** A failed call to the daemon; the message is meant for WHMCS staff. */
class DaemonError extends \RuntimeException
{
    /** @var int HTTP status, or 0 when no answer came */
    public int $status;
    /** @var string raw body of the answer ('' when none) */
    public string $responseBody;

    public function __construct(string $message, int $status = 0, string $responseBody = '')
    {
        parent::__construct($message);
        $this->status = $status;
        $this->responseBody = $responseBody;
    }
}
