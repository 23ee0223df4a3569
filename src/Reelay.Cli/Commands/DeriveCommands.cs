using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary>
/// <c>reelay remix ID</c>, <c>reelay edit ID</c> and <c>reelay extend ID</c>: a new video from a completed one (OpenAI's
/// remix, edits and extensions), with progress and the download, like <c>reelay generate</c>.
/// </summary>
internal static class DeriveCommands
{
    public static Command Remix(CliContext context) => Create(context, "remix", "Remix a completed video with a new prompt (same model, size and length unless --seconds/--size say otherwise).", withSecondsAndSize: true,
        (client, id, prompt, seconds, size, ct) => client.RemixVideoAsync(id, prompt, new VideoOperationOptions { Seconds = seconds, Size = size }, ct));

    public static Command Edit(CliContext context) => Create(context, "edit", "Edit a completed video: a new one from it and a prompt that says what to change.", withSecondsAndSize: false,
        (client, id, prompt, _, _, ct) => client.EditVideoAsync(id, prompt, null, ct));

    public static Command Extend(CliContext context) => Create(context, "extend", "Extend a completed video by --seconds; the result is the stitched whole.", withSecondsAndSize: false,
        (client, id, prompt, seconds, _, ct) => client.ExtendVideoAsync(id, prompt, seconds ?? throw new UsageException("Give --seconds: the length of the new segment."), null, ct), secondsRequired: true);

    private static Command Create(
        CliContext context,
        string name,
        string description,
        bool withSecondsAndSize,
        Func<ReelayClient, string, string, int?, string?, CancellationToken, Task<Video>> submit,
        bool secondsRequired = false)
    {
        var id = new Argument<string>("id") { Description = "The completed source video (video_...)." };
        var prompt = new Option<string>("--prompt", "-p") { Description = "The new prompt.", HelpName = "TEXT", Required = true };
        var seconds = new Option<int?>("--seconds", "-s")
        {
            Description = secondsRequired ? "Length of the new segment in seconds." : "Another length in seconds (default: the source's).",
            HelpName = "N",
            Required = secondsRequired,
            CustomParser = OptionParsers.PositiveInt,
        };
        var size = new Option<string?>("--size") { Description = "Another size WIDTHxHEIGHT (default: the source's).", HelpName = "WxH" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to save the MP4 (default: <id>.mp4).", HelpName = "PATH" };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var command = new Command(name, description) { id, prompt, output };
        if (withSecondsAndSize || secondsRequired)
        {
            command.Options.Add(seconds);
        }

        if (withSecondsAndSize)
        {
            command.Options.Add(size);
        }

        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var outputPath = parseResult.GetValue(output);
            return await VideoJobRunner.RunAsync(
                context,
                client,
                ct => submit(client, parseResult.GetValue(id)!, parseResult.GetValue(prompt)!, parseResult.GetValue(seconds), parseResult.GetValue(size), ct),
                null,
                video => outputPath ?? $"{video.Id}.mp4",
                cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}

/// <summary><c>reelay characters create NAME FILE</c> and <c>reelay characters get ID</c>.</summary>
internal static class CharactersCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The character's display name." };
        var file = new Argument<string>("file") { Description = "A short MP4/WebM video or a PNG, JPEG or WebP image." };
        var createConnection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var create = new Command("create", "Create a character from a reference file; prints its id.") { name, file };
        createConnection.AddTo(create);
        create.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new UsageException($"'{path}' is not an existing file.");
            }

            var character = await createConnection.CreateClient(parseResult).CreateCharacterFromFileAsync(parseResult.GetValue(name)!, path, cancellationToken).ConfigureAwait(false);
            await context.Output.WriteLineAsync($"{character.Id}: {character.Name}").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });

        var id = new Argument<string>("id") { Description = "The character id (char_...)." };
        var getConnection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var get = new Command("get", "Show a character of this key.") { id };
        getConnection.AddTo(get);
        get.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var character = await getConnection.CreateClient(parseResult).GetCharacterAsync(parseResult.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            var created = DateTimeOffset.FromUnixTimeSeconds(character.CreatedAt).ToString("u", System.Globalization.CultureInfo.InvariantCulture);
            await context.Output.WriteLineAsync($"{character.Id}: {character.Name} (created {created})").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });

        return new Command("characters", "Characters: named references a create request shows by id (--character).") { create, get };
    }
}
