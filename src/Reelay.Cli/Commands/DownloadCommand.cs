using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay download ID</c>: save a completed video, its thumbnail or its spritesheet.</summary>
internal static class DownloadCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The video id (video_...)." };
        var variant = new Option<string>("--variant") { Description = "video (MP4), thumbnail (JPEG) or spritesheet (JPEG grid of frames).", HelpName = "video|thumbnail|spritesheet", DefaultValueFactory = _ => "video" };
        variant.AcceptOnlyFromAmong("video", "thumbnail", "spritesheet");
        var output = new Option<string?>("--output", "-o") { Description = "Where to save it (default: <id>.mp4, <id>.jpg for the thumbnail, <id>.spritesheet.jpg for the spritesheet).", HelpName = "PATH" };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var command = new Command("download", "Download a completed video, its thumbnail or its spritesheet.") { id, variant, output };
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var videoId = parseResult.GetValue(id)!;
            var name = parseResult.GetValue(variant)!;
            var (which, extension) = name switch
            {
                "thumbnail" => (VideoVariant.Thumbnail, ".jpg"),
                "spritesheet" => (VideoVariant.Spritesheet, ".spritesheet.jpg"),
                _ => (VideoVariant.Video, ".mp4"),
            };
            var path = Path.GetFullPath(parseResult.GetValue(output) ?? videoId + extension);
            var bytes = await client.DownloadContentToFileAsync(videoId, path, which, cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync($"saved {bytes:N0} bytes").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"{name}: {path}").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }
}
