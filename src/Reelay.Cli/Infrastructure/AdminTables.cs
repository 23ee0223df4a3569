using System.Globalization;
using Reelay.Client.Admin;
using Spectre.Console;
using static Reelay.Cli.Infrastructure.AdminOptions;
using static Reelay.Cli.Infrastructure.VideoTables;

namespace Reelay.Cli.Infrastructure;

/// <summary>How API keys, usage and charges look in the terminal.</summary>
internal static class AdminTables
{
    public static Table Keys(IEnumerable<ApiKey> keys)
    {
        var table = NewTable("ID", "NAME", "SCOPE", "PREFIX", "STATE", "MODELS", "LIMITS", "BUDGET", "SPENT", "HELD", "EXPIRES (UTC)");
        foreach (var key in keys)
        {
            table.AddRow(
                Cell(key.Id),
                Cell(key.Name),
                Cell(key.Scope),
                Cell(key.Prefix),
                Cell(State(key)),
                Cell(ModelsText(key.Models)),
                Cell(Limits(key)),
                Cell(Usd(key.BudgetUsd, "-")),
                Cell(Usd(key.SpentUsd)),
                Cell(Usd(key.HeldUsd)),
                Cell(AdminOptions.Time(key.ExpiresAt, "never")));
        }

        return table;
    }

    public static Grid Key(ApiKey key)
    {
        var grid = DetailsGrid(out var row);
        row("id", key.Id);
        row("name", key.Name);
        row("scope", key.Scope);
        row("prefix", key.Prefix);
        row("state", State(key));
        row("models", ModelsText(key.Models));
        row("rate limit", key.RateLimitPerMinute is { } rate ? $"{rate} submits per minute" : "none");
        row("max in flight", key.MaxJobsInFlight is { } max ? max.ToString(CultureInfo.InvariantCulture) : "none");
        row("jobs in flight", key.JobsInFlight.ToString(CultureInfo.InvariantCulture));
        row("budget", Usd(key.BudgetUsd, "none"));
        row("spent", Usd(key.SpentUsd));
        row("held", Usd(key.HeldUsd));
        row("available", Usd(key.AvailableUsd, "unlimited"));
        row("created", AdminOptions.Time(key.CreatedAt));
        row("expires", AdminOptions.Time(key.ExpiresAt, "never"));
        row("revoked", AdminOptions.Time(key.RevokedAt));
        return grid;
    }

    public static Table Usage(UsageReport report)
    {
        var table = NewTable("KEY", "NAME", "MODEL", "JOBS", "SUCCEEDED", "SECONDS", "SPENT", "HELD", "UNRESOLVED");
        foreach (var row in report.Data)
        {
            table.AddRow(
                Cell(row.KeyId),
                Cell(row.KeyName),
                Cell(row.Model),
                Cell(Number(row.Jobs)),
                Cell(Number(row.Succeeded)),
                Cell(Number(row.Seconds)),
                Cell(Usd(row.SpentUsd)),
                Cell(Usd(row.HeldUsd)),
                Cell(Number(row.Unresolved)));
        }

        table.AddRow(
            Cell("total"),
            Cell(""),
            Cell(""),
            Cell(Number(report.Jobs)),
            Cell(Number(report.Data.Sum(r => r.Succeeded))),
            Cell(Number(report.Seconds)),
            Cell(Usd(report.SpentUsd)),
            Cell(Usd(report.HeldUsd)),
            Cell(Number(report.Data.Sum(r => r.Unresolved))));
        return table;
    }

    public static Table Charges(IEnumerable<Charge> charges)
    {
        var table = NewTable("JOB", "KEY", "MODEL", "STATE", "HELD", "CHARGED", "SECONDS", "CREATED (UTC)", "REASON");
        foreach (var charge in charges)
        {
            table.AddRow(
                Cell(charge.JobId),
                Cell(charge.KeyId),
                Cell(charge.Model),
                Cell(charge.State),
                Cell(Usd(charge.HeldUsd)),
                Cell(Usd(charge.ChargedUsd)),
                Cell($"{Number(charge.ProducedSeconds)}/{charge.RequestedSeconds}"),
                Cell(AdminOptions.Time(charge.CreatedAt)),
                Cell(charge.Reason));
        }

        return table;
    }

    public static Grid Charge(Charge charge)
    {
        var grid = DetailsGrid(out var row);
        row("job", charge.JobId);
        row("key", charge.KeyId);
        row("model", charge.Model);
        row("tier", charge.Tier);
        row("state", charge.State);
        row("price", Usd(charge.PricePerSecondUsd) + " per second");
        row("requested", charge.RequestedSeconds.ToString(CultureInfo.InvariantCulture) + " s");
        row("produced", Number(charge.ProducedSeconds) + " s");
        row("held", Usd(charge.HeldUsd));
        row("charged", Usd(charge.ChargedUsd));
        row("reason", charge.Reason);
        row("created", AdminOptions.Time(charge.CreatedAt));
        row("closed", AdminOptions.Time(charge.ClosedAt));
        return grid;
    }

    public static string State(ApiKey key) =>
        key.RevokedAt is not null ? "revoked"
        : key.Active ? "active"
        : key.ExpiresAt is not null ? "expired"
        : "inactive";

    private static string ModelsText(IReadOnlyList<string>? models) => models is null ? "all" : string.Join(",", models);

    private static string Limits(ApiKey key)
    {
        var parts = new List<string>();
        if (key.RateLimitPerMinute is { } rate)
        {
            parts.Add($"{rate}/min");
        }

        if (key.MaxJobsInFlight is { } max)
        {
            parts.Add($"{key.JobsInFlight}/{max} in flight");
        }

        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }

    private static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(column);
        }

        return table;
    }

    private static Grid DetailsGrid(out Action<string, string?> row)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        row = (name, value) =>
        {
            if (!string.IsNullOrEmpty(value))
            {
                grid.AddRow(Cell(name), Cell(value));
            }
        };
        return grid;
    }
}
