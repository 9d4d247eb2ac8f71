using System.Globalization;
using System.Reflection;

namespace DrWorkflows.Persistence.Internal;

/// <summary>One schema migration: an embedded SQL file named <c>NNNN_description.sql</c>.</summary>
internal sealed record Migration(int Version, string Name, string Sql)
{
    /// <summary>The migrations of one dialect (<c>Sqlite</c> or <c>Postgres</c>), in order.</summary>
    public static IReadOnlyList<Migration> Load(string dialect)
    {
        var assembly = typeof(Migration).Assembly;
        var prefix = $"Migrations/{dialect}/";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var name = resource.Replace('\\', '/');
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(".sql", StringComparison.Ordinal))
                continue;
            var file = name[prefix.Length..^".sql".Length];
            var separator = file.IndexOf('_', StringComparison.Ordinal);
            if (separator <= 0 || !int.TryParse(file[..separator], NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version <= 0)
                throw new InvalidOperationException($"Migration resource '{resource}' must be named NNNN_description.sql.");
            migrations.Add(new Migration(version, file, Read(assembly, resource)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
                throw new InvalidOperationException($"{dialect} migrations must be numbered 1, 2, 3... without gaps or duplicates; found {migrations[i].Name} at position {i + 1}.");
        }

        return migrations;
    }

    /// <summary>The error for a database written by a newer DrWorkflows.</summary>
    public static StoreUnavailableException TooNew(string store, string location, int found, int known) => new(
        $"The {store} store at {location} has schema version {found}, but this DrWorkflows build only knows versions up to {known}. "
        + "It was upgraded by a newer DrWorkflows: run that version (or newer) against it, or restore a backup of the store taken before the upgrade. "
        + "DrWorkflows does not downgrade a schema.");

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Migration resource '{resource}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
