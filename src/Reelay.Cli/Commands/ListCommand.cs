using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay list</c>: the caller's videos as a table.</summary>
internal static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var limit = new Option<int?>("--limit", "-n") { Description = "Videos per page (default: the server's).", HelpName = "N" };
        var order = new Option<string?>("--order") { Description = "asc (oldest first) or desc (newest first, the default).", HelpName = "asc|desc" };
        var after = new Option<string?>("--after") { Description = "Start after this video id.", HelpName = "ID" };
        var all = new Option<bool>("--all", "-a") { Description = "Follow the cursor through every page." };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        limit.CustomParser = OptionParsers.PositiveInt;
        order.AcceptOnlyFromAmong("asc", "desc");

        var command = new Command("list", "List videos, newest first.") { limit, order, after, all };
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var options = new ListVideosOptions
            {
                Limit = parseResult.GetValue(limit),
                After = parseResult.GetValue(after),
                Order = parseResult.GetValue(order) switch
                {
                    "asc" => ListOrder.Ascending,
                    "desc" => ListOrder.Descending,
                    _ => null,
                },
            };

            var videos = new List<Video>();
            var more = false;
            if (parseResult.GetValue(all))
            {
                await foreach (var video in client.ListAllVideosAsync(options, cancellationToken).ConfigureAwait(false))
                {
                    videos.Add(video);
                }
            }
            else
            {
                var page = await client.ListVideosAsync(options, cancellationToken).ConfigureAwait(false);
                videos.AddRange(page.Data);
                more = page.HasMore;
                if (more && page.LastId is { } last)
                {
                    await context.Error.WriteLineAsync($"more videos follow: --after {last}, or --all").ConfigureAwait(false);
                }
            }

            if (videos.Count == 0)
            {
                await context.Output.WriteLineAsync("No videos.").ConfigureAwait(false);
                return ReelayCli.ExitOk;
            }

            context.OutConsole.Write(VideoTables.List(videos));
            return ReelayCli.ExitOk;
        });
        return command;
    }
}
