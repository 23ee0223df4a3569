using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Reelay.Server.Hosting;

/// <summary>Kestrel's limits from Reelay:Limits: the largest request body (JSON or multipart), and no Server header.</summary>
public static class RequestLimits
{
    /// <summary>
    /// Applies Reelay:Limits:MaxRequestBodyBytes to Kestrel and to multipart forms. Read from the raw setting, because
    /// Kestrel is configured before the validated options exist (an invalid value still fails the start, as one line).
    /// </summary>
    public static WebApplicationBuilder AddReelayRequestLimits(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var maxBody = builder.Configuration.GetValue<long?>("Reelay:Limits:MaxRequestBodyBytes") ?? new LimitsOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBody;
        });
        builder.Services.Configure<FormOptions>(form =>
        {
            form.MultipartBodyLengthLimit = maxBody;
            form.ValueCountLimit = 256;
        });
        return builder;
    }
}
