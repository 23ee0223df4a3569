using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Dashboard.Pages;

namespace Reelay.Server.Dashboard;

internal static partial class DashboardEndpoints
{
    /// <summary>The dialect name the dashboard records on the jobs it submits.</summary>
    public const string DialectName = "dashboard";

    static partial void MapTryRoutes(RouteGroupBuilder group)
    {
        group.MapGet("/try", TryForm);
        group.MapPost("/try", TrySubmit).AddEndpointFilter(RequireAntiforgery);
    }

    private static IResult TryForm(HttpContext context, JobEngine engine) => RenderTry(context, engine, null, null, StatusCodes.Status200OK);

    private static IResult RenderTry(HttpContext context, JobEngine engine, TryInput? input, string? error, int statusCode)
    {
        var models = TryModel.FromCatalog(engine.Catalog);
        // The catalog rides along as JSON data (not script) so the form can offer each model's own durations and sizes.
        var json = JsonSerializer.Serialize(models, TryJson.Default.IReadOnlyListTryModel);
        return Render<TryPage>(context, CallerOf(context), "Try it", "try", new()
        {
            ["Models"] = models,
            ["CatalogJson"] = json,
            ["Input"] = input,
            ["Error"] = error,
        }, statusCode);
    }

    private static async Task<IResult> TrySubmit(HttpContext context, JobEngine engine)
    {
        var caller = CallerOf(context);
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        string? Field(string name) => form[name] is { Count: 1 } v && v[0] is { Length: > 0 } text ? text : null;
        var input = new TryInput(Field("model"), Field("mode"), Field("prompt"), Field("seconds"), Field("shape"));
        try
        {
            if (input.Model is null)
            {
                throw ReelayException.Invalid("model", "Choose a model.");
            }

            VideoMode mode;
            try
            {
                mode = VideoModeExtensions.ParseWire(input.Mode ?? "t2v");
            }
            catch (FormatException)
            {
                throw ReelayException.Invalid("mode", $"mode '{input.Mode}' is not t2v or i2v.");
            }

            var shape = TryModel.ParseShape(input.Shape) ?? throw ReelayException.Invalid("shape", $"size '{input.Shape}' is not one the form offers.");
            int? seconds = input.Seconds is null ? null : TryModel.ParseSeconds(input.Seconds) ?? throw ReelayException.Invalid("seconds", $"duration '{input.Seconds}' is not a whole number of seconds.");
            InputImage? frame = null;
            if (form.Files.GetFile("first_frame") is { Length: > 0 } file)
            {
                using var buffer = new MemoryStream();
                await file.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                frame = InputImage.FromBytes(buffer.ToArray(), "first_frame", file.ContentType, file.FileName);
            }

            var job = await engine.SubmitAsync(new JobRequest
            {
                Model = input.Model,
                Mode = mode,
                Prompt = input.Prompt,
                FirstFrame = mode == VideoMode.ImageToVideo ? frame : null,
                DurationSeconds = seconds,
                Size = shape.Size,
                Resolution = shape.Resolution,
                AspectRatio = shape.AspectRatio,
                Owner = caller.KeyId,
                Dialect = DialectName,
            }, context.RequestAborted).ConfigureAwait(false);
            return TypedResults.Redirect($"/dashboard/jobs/{Uri.EscapeDataString(job.Id)}");
        }
        catch (ReelayException ex)
        {
            var field = ex.Error.Param is { } param ? $" ({param})" : "";
            return RenderTry(context, engine, input, $"Not submitted{field}: {ex.Error.Message}", ex.HttpStatus);
        }
    }
}
