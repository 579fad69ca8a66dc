<?php
/**
 * Stand-ins for what WHMCS itself provides to modules, and nothing of hostbridge's own: the hook
 * registry (add_hook), the Activity Log (logActivity), WHMCS\Database\Capsule over an in-memory
 * table store (Debian's php-cli has no pdo_sqlite), the usage-billing contracts and classes
 * (signatures per the WHMCS class reference), and WHMCS\Service\Status. The tests read what the
 * module did through the recorded globals and Capsule::rows().
 */

namespace {
    /** add_hook() calls: [hook point => [[priority, callable], …]]. */
    $GLOBALS['hostbridge_test_hooks'] = [];
    /** logActivity() messages, in order. */
    $GLOBALS['hostbridge_test_activity'] = [];

    function add_hook($hookPoint, $priority, $function)
    {
        $GLOBALS['hostbridge_test_hooks'][(string) $hookPoint][] = [(int) $priority, $function];
    }

    function logActivity($message, $clientId = 0)
    {
        $GLOBALS['hostbridge_test_activity'][] = (string) $message;
    }

    /** Runs the hooks of one hook point as WHMCS does: by priority, each with $vars. */
    function hostbridge_test_run_hook(string $hookPoint, array $vars = []): array
    {
        $hooks = $GLOBALS['hostbridge_test_hooks'][$hookPoint] ?? [];
        usort($hooks, static fn ($a, $b) => $a[0] <=> $b[0]);
        $out = [];
        foreach ($hooks as [, $fn]) {
            $out[] = $fn($vars);
        }
        return $out;
    }
}

namespace WHMCS\Database {
    /** The part of Laravel's query builder the modules use, over arrays of rows. */
    final class Capsule
    {
        /** @var array<string, list<array>> */
        private static array $tables = [];
        /** When set, every query throws it (a database that is down). */
        public static ?\Throwable $failure = null;

        public static function table(string $name): QueryBuilder
        {
            if (self::$failure !== null) {
                throw self::$failure;
            }
            return new QueryBuilder($name);
        }

        public static function reset(array $tables = []): void
        {
            self::$tables = $tables;
            self::$failure = null;
        }

        public static function rows(string $table): array
        {
            return self::$tables[$table] ?? [];
        }

        /** @internal for QueryBuilder */
        public static function &store(string $table): array
        {
            if (!isset(self::$tables[$table])) {
                self::$tables[$table] = [];
            }
            return self::$tables[$table];
        }
    }

    final class QueryBuilder
    {
        private string $table;
        /** @var list<callable(array): bool> */
        private array $wheres = [];

        public function __construct(string $table)
        {
            $this->table = $table;
        }

        public function where($column, $operator = null, $value = null): self
        {
            if (func_num_args() === 2) {
                [$operator, $value] = ['=', $operator];
            }
            if (!in_array($operator, ['=', '!=', '<>', '<', '>', '<=', '>='], true)) {
                throw new \InvalidArgumentException("stub: operator {$operator} is not supported");
            }
            $this->wheres[] = static function (array $row) use ($column, $operator, $value): bool {
                $v = $row[$column] ?? null;
                switch ($operator) {
                    case '=': return $v == $value;
                    case '!=': case '<>': return $v != $value;
                    case '<': return $v < $value;
                    case '>': return $v > $value;
                    case '<=': return $v <= $value;
                    default: return $v >= $value;
                }
            };
            return $this;
        }

        public function whereIn($column, $values): self
        {
            $values = is_object($values) && method_exists($values, 'all') ? $values->all() : (array) $values;
            $this->wheres[] = static fn (array $row): bool => in_array($row[$column] ?? null, $values, false);
            return $this;
        }

        public function get($columns = ['*']): Collection
        {
            $columns = (array) $columns;
            $out = [];
            foreach ($this->matching() as $row) {
                $out[] = (object) ($columns === ['*'] ? $row : array_intersect_key($row, array_flip($columns)));
            }
            return new Collection($out);
        }

        public function first($columns = ['*'])
        {
            return $this->get($columns)->all()[0] ?? null;
        }

        public function value($column)
        {
            $row = $this->first();
            return $row === null ? null : ($row->{$column} ?? null);
        }

        public function pluck($column, $key = null): Collection
        {
            $out = [];
            foreach ($this->matching() as $row) {
                if ($key === null) {
                    $out[] = $row[$column] ?? null;
                } else {
                    $out[$row[$key] ?? ''] = $row[$column] ?? null;
                }
            }
            return new Collection($out);
        }

        public function count(): int
        {
            return count($this->matching());
        }

        public function insert(array $row): bool
        {
            $rows = &Capsule::store($this->table);
            $rows[] = $row;
            return true;
        }

        /** @return int rows changed, as Laravel answers */
        public function update(array $values): int
        {
            $rows = &Capsule::store($this->table);
            $n = 0;
            foreach ($rows as $i => $row) {
                if ($this->matches($row)) {
                    $rows[$i] = array_merge($row, $values);
                    $n++;
                }
            }
            return $n;
        }

        private function matching(): array
        {
            return array_values(array_filter(Capsule::rows($this->table), fn (array $row) => $this->matches($row)));
        }

        private function matches(array $row): bool
        {
            foreach ($this->wheres as $w) {
                if (!$w($row)) {
                    return false;
                }
            }
            return true;
        }
    }

    final class Collection implements \IteratorAggregate, \Countable
    {
        private array $items;

        public function __construct(array $items)
        {
            $this->items = $items;
        }

        public function all(): array
        {
            return $this->items;
        }

        public function toArray(): array
        {
            return array_map(static fn ($i) => is_object($i) ? (array) $i : $i, $this->items);
        }

        public function getIterator(): \ArrayIterator
        {
            return new \ArrayIterator($this->items);
        }

        public function count(): int
        {
            return count($this->items);
        }
    }
}

namespace WHMCS\Service {
    class Status
    {
        public const PENDING = 'Pending';
        public const ACTIVE = 'Active';
        public const SUSPENDED = 'Suspended';
        public const TERMINATED = 'Terminated';
        public const CANCELLED = 'Cancelled';
        public const FRAUD = 'Fraud';
        public const COMPLETED = 'Completed';
    }
}

namespace WHMCS\UsageBilling\Contracts\Metrics {
    interface UnitInterface
    {
        public const TYPE_INT = 'int';
        public const TYPE_FLOAT_PRECISION_LOW = 'float_precision_low';
        public const TYPE_FLOAT_PRECISION_HIGH = 'float_precision_high';
        public const TYPE_CURRENCY = 'currency';
        public const TYPE_MICROTIME = 'microtime';

        public function name();
        public function type();
    }

    interface UsageInterface
    {
        public function value();
        public function collectedAt();
        public function startAt();
        public function endAt();
    }

    interface MetricInterface
    {
        public const TYPE_SNAPSHOT = 'snapshot';
        public const TYPE_PERIOD_DAY = 'day';
        public const TYPE_PERIOD_MONTH = 'month';

        public function systemName();
        public function displayName();
        public function type();
        public function units();
        public function usage();
        public function withUsage(?UsageInterface $usage = null);
    }

    interface ProviderInterface
    {
        public function metrics();
        public function usage();
        public function tenantUsage($tenant);
    }
}

namespace WHMCS\UsageBilling\Metrics {
    use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UsageInterface;

    class Metric implements MetricInterface
    {
        private $systemName;
        private $displayName;
        private $type;
        private $units;
        private $usage;

        public function __construct($systemName, $displayName = null, $type = null, ?UnitInterface $units = null, ?UsageInterface $usage = null)
        {
            $this->systemName = $systemName;
            $this->displayName = $displayName ?? $systemName;
            $this->type = $type ?? self::TYPE_SNAPSHOT;
            $this->units = $units;
            $this->usage = $usage;
        }

        public function systemName() { return $this->systemName; }
        public function displayName() { return $this->displayName; }
        public function type() { return $this->type; }
        public function units() { return $this->units; }
        public function usage() { return $this->usage; }

        public function withUsage(?UsageInterface $usage = null)
        {
            $copy = clone $this;
            $copy->usage = $usage;
            return $copy;
        }
    }

    class Usage implements UsageInterface
    {
        private $value;
        private $collectedAt;
        private $startAt;
        private $endAt;

        /** Times: null, a Carbon, or Unix seconds (int|float); kept as given by this stub. */
        public function __construct($value, $collectedAt = null, $startAt = null, $endAt = null)
        {
            $this->value = (float) $value;
            $this->collectedAt = $collectedAt;
            $this->startAt = $startAt;
            $this->endAt = $endAt;
        }

        public function value() { return $this->value; }
        public function collectedAt() { return $this->collectedAt; }
        public function startAt() { return $this->startAt; }
        public function endAt() { return $this->endAt; }
    }
}

namespace WHMCS\UsageBilling\Metrics\Units {
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;

    abstract class AbstractUnit implements UnitInterface
    {
        protected $name;
        protected $singlePerUnitName;
        protected $pluralPerUnitName;
        protected $prefix;
        protected $suffix;

        public function __construct($name, $singlePerUnitName = null, $pluralPerUnitName = null, $prefix = null, $suffix = null)
        {
            $this->name = $name;
            $this->singlePerUnitName = $singlePerUnitName ?? $name;
            $this->pluralPerUnitName = $pluralPerUnitName ?? $name;
            $this->prefix = $prefix;
            $this->suffix = $suffix;
        }

        public function name() { return $this->name; }
        public function perUnitName($value = 1) { return $value == 1 ? $this->singlePerUnitName : $this->pluralPerUnitName; }
        public function suffix() { return $this->suffix; }
    }

    class WholeNumber extends AbstractUnit
    {
        public function type() { return self::TYPE_INT; }
    }

    class FloatingPoint extends AbstractUnit
    {
        public function type() { return self::TYPE_FLOAT_PRECISION_LOW; }
    }

    class Bytes extends FloatingPoint
    {
        public function __construct($name = 'Bytes', $singlePerUnitName = 'Byte', $pluralPerUnitName = 'Bytes', $prefix = null, $suffix = 'B')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }

    class KiloBytes extends Bytes
    {
        public function __construct($name = 'Kilobytes', $singlePerUnitName = 'Kilobyte', $pluralPerUnitName = 'Kilobytes', $prefix = null, $suffix = 'KB')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }

    class MegaBytes extends Bytes
    {
        public function __construct($name = 'Megabytes', $singlePerUnitName = 'Megabyte', $pluralPerUnitName = 'Megabytes', $prefix = null, $suffix = 'MB')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }

    class GigaBytes extends Bytes
    {
        public function __construct($name = 'Gigabytes', $singlePerUnitName = 'Gigabyte', $pluralPerUnitName = 'Gigabytes', $prefix = null, $suffix = 'GB')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }
}
