using System.Reflection;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Engine;
using Reelay.Server.Hosting;

namespace Reelay.Server.Tests.Diagnostics;

/// <summary>Every <c>[LoggerMessage]</c> in Reelay and Reelay.Server against the registry in <see cref="LogEventIds"/>.</summary>
public sealed class LogEventIdTests
{
    private sealed record LogMethod(MethodInfo Method, int EventId)
    {
        public string? Namespace => Method.DeclaringType?.Namespace;

        public override string ToString() => $"{Method.DeclaringType?.FullName}.{Method.Name}";
    }

    private static readonly Assembly[] Assemblies = [typeof(EngineLog).Assembly, typeof(ServerLog).Assembly];

    private static List<LogMethod> LogMethods() =>
    [
        .. from assembly in Assemblies
           from type in assembly.GetTypes()
           from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
           let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
           where attribute is not null
           select new LogMethod(method, attribute.EventId),
    ];

    [Fact]
    public void LoggerMessages_AcrossAssemblies_HaveUniqueEventIds()
    {
        var methods = LogMethods();
        Assert.True(methods.Count >= 40, $"Only {methods.Count} [LoggerMessage] methods were found; the reflection misses some.");

        var duplicates = methods
            .GroupBy(m => m.EventId)
            .Where(g => g.Count() > 1)
            .OrderBy(g => g.Key)
            .Select(g => $"Event id {g.Key} is used by {string.Join(", ", g.Select(m => m.ToString()).Order(StringComparer.Ordinal))}")
            .ToList();

        if (duplicates.Count > 0)
        {
            Assert.Fail("Duplicate log event ids:" + Environment.NewLine + string.Join(Environment.NewLine, duplicates));
        }
    }

    [Fact]
    public void LoggerMessages_AcrossAssemblies_UseTheBlockOfTheirNamespace()
    {
        var problems = new List<string>();
        foreach (var method in LogMethods().OrderBy(m => m.EventId))
        {
            var block = LogEventIds.Blocks
                .Where(b => b.Covers(method.Namespace))
                .MaxBy(b => b.Namespace.Length);
            if (block is null)
            {
                problems.Add($"{method} (event id {method.EventId}): namespace {method.Namespace} has no block in LogEventIds");
            }
            else if (!block.Contains(method.EventId))
            {
                problems.Add($"{method} (event id {method.EventId}): outside the {block.Name} block {block.First}-{block.Last}");
            }
        }

        if (problems.Count > 0)
        {
            Assert.Fail("Log event ids outside their registered block:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }
    }

    [Fact]
    public void Blocks_Registered_AreDistinctAndDoNotOverlap()
    {
        var blocks = LogEventIds.Blocks.OrderBy(b => b.First).ToList();

        Assert.Equal(blocks.Count, blocks.Select(b => b.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(blocks.Count, blocks.Select(b => b.Namespace).Distinct(StringComparer.Ordinal).Count());
        for (var i = 1; i < blocks.Count; i++)
        {
            Assert.True(blocks[i].First > blocks[i - 1].Last, $"Block {blocks[i].Name} ({blocks[i].First}) overlaps {blocks[i - 1].Name} ({blocks[i - 1].First}-{blocks[i - 1].Last})");
        }
    }

    [Fact]
    public void Blocks_Registered_MatchTheirConstants()
    {
        var constants = typeof(LogEventIds)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name != nameof(LogEventIds.BlockSize))
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!, StringComparer.Ordinal);

        Assert.Equal(constants.Keys.Order(StringComparer.Ordinal), LogEventIds.Blocks.Select(b => b.Name).Order(StringComparer.Ordinal));
        foreach (var block in LogEventIds.Blocks)
        {
            Assert.Equal(constants[block.Name], block.First);
        }
    }
}
