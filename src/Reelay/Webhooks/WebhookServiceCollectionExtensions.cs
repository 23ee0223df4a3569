using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reelay.Engine;

namespace Reelay.Webhooks;

/// <summary>Registers signed webhooks: the outbox writer (a job observer) and the dispatcher, over the store's <see cref="IWebhookStore"/>.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// Adds the webhook outbox and dispatcher. Call after AddReelay (which registers the store, <see cref="IWebhookStore"/> included, and whose engine start-up creates the schema). Dialects
    /// that want their own body shape register an <see cref="IWebhookPayloadRenderer"/>.
    /// </summary>
    public static IServiceCollection AddReelayWebhooks(this IServiceCollection services)
    {
        services.AddSingleton<WebhookDispatcher>();
        services.AddSingleton<WebhookOutbox>();
        services.AddSingleton<IJobObserver>(sp => sp.GetRequiredService<WebhookOutbox>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WebhookOutbox>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}
