using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay download ID</c>: save a completed video or its thumbnail.</summary>
internal static class DownloadCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The video id (video_...)." };
        var variant = new Option<string>("--variant") { Description = "video (MP4) or thumbnail (JPEG).", HelpName = "video|thumbnail", DefaultValueFactory = _ => "video" };
        variant.AcceptOnlyFromAmong("video", "thumbnail");
        var output = new Option<string?>("--output", "-o") { Description = "Where to save it (default: <id>.mp4, or <id>.jpg for the thumbnail).", HelpName = "PATH" };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var command = new Command("download", "Download a completed video or its thumbnail.") { id, variant, output };
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var videoId = parseResult.GetValue(id)!;
            var thumbnail = parseResult.GetValue(variant) == "thumbnail";
            var path = Path.GetFullPath(parseResult.GetValue(output) ?? $"{videoId}{(thumbnail ? ".jpg" : ".mp4")}");
            var bytes = await client.DownloadContentToFileAsync(videoId, path, thumbnail ? VideoVariant.Thumbnail : VideoVariant.Video, cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync($"saved {bytes:N0} bytes").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"{(thumbnail ? "thumbnail" : "video")}: {path}").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }
}
