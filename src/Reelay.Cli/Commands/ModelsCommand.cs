using System.CommandLine;
using Reelay.Catalog;
using Reelay.Cli.Infrastructure;
using Reelay.Client;
using Spectre.Console;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay models</c>: what a gateway offers, or the local catalog when no gateway is named.</summary>
internal static class ModelsCommand
{
    /// <summary>The environment form of Reelay:Catalog:Path, honoured for the local catalog.</summary>
    public const string CatalogPathVariable = "Reelay__Catalog__Path";

    public static Command Create(CliContext context)
    {
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}; with neither, the local catalog is listed).");
        var command = new Command("models", "List the models a gateway offers (GET /v1/models), or the local catalog.");
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var url = connection.ResolveUrlOrNull(parseResult);
            IReadOnlyList<ModelInfo> models;
            if (url is null)
            {
                await context.Error.WriteLineAsync("local catalog (no gateway contacted; pass --url or set REELAY_URL to ask one)").ConfigureAwait(false);
                models = LocalModels(context.GetEnvironmentVariable(CatalogPathVariable));
            }
            else
            {
                models = await connection.CreateClient(url, connection.ResolveKey(parseResult)).ListModelsAsync(cancellationToken).ConfigureAwait(false);
            }

            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "MODEL", "MODES", "DURATIONS (S)", "SIZES", "DESCRIPTION" })
            {
                table.AddColumn(column);
            }

            foreach (var model in models.OrderBy(m => m.Id, StringComparer.Ordinal))
            {
                table.AddRow(
                    VideoTables.Cell(model.Id),
                    VideoTables.Cell(string.Join(", ", model.Modes)),
                    VideoTables.Cell(model.Durations),
                    VideoTables.Cell(model.Sizes),
                    VideoTables.Cell(model.Description));
            }

            context.OutConsole.Write(table);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    /// <summary>The shipped catalog (plus an operator file), in the shape GET /v1/models uses.</summary>
    internal static IReadOnlyList<ModelInfo> LocalModels(string? catalogPath)
    {
        ModelCatalog catalog;
        try
        {
            catalog = ModelCatalog.Load(string.IsNullOrWhiteSpace(catalogPath) ? null : catalogPath);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliFailureException(ex.Message, ex);
        }

        return [.. catalog.Models.Select(m => new ModelInfo
        {
            Id = m.Name,
            OwnedBy = "reelay",
            Description = m.Description,
            Modes = m.Modes,
            Durations = m.Durations.Describe(),
            Sizes = DescribeSizes(m),
        })];
    }

    private static string DescribeSizes(ModelDefinition model)
    {
        var parts = new List<string>();
        if (model.Sizes.Count > 0)
        {
            parts.Add(string.Join(", ", model.Sizes));
        }
        else if (model.AnySize is { } any)
        {
            parts.Add($"any{(any.Even ? " even" : "")} WxH, sides {any.MinSide}+, up to {any.MaxWidth}x{any.MaxHeight}");
        }

        var tiers = model.Resolutions.Keys.Concat(model.Tiers.Keys).Distinct().ToList();
        if (tiers.Count > 0)
        {
            parts.Add("tiers " + string.Join(", ", tiers));
        }

        return string.Join("; ", parts);
    }
}
