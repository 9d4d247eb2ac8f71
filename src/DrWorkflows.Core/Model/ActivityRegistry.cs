using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Core.Model;

/// <summary>
/// Every activity type the runtime knows, by Elsa type name. Descriptors are generated from the classes
/// (attributes, typed inputs/outputs, child ports), so adding an activity class is all it takes.
/// </summary>
public sealed class ActivityRegistry
{
    private readonly ConcurrentDictionary<string, ActivityDescriptor> byType = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, ActivityDescriptor> byClrType = new();

    /// <summary>Registers every concrete activity class of an assembly that carries <see cref="ActivityAttribute"/>.</summary>
    public ActivityRegistry RegisterAssembly(Assembly assembly)
    {
        foreach (var type in assembly.GetTypes().Where(t => t is { IsAbstract: false, IsClass: true } && typeof(Activity).IsAssignableFrom(t) && t.GetCustomAttribute<ActivityAttribute>() is not null))
            Register(type);
        return this;
    }

    public ActivityDescriptor Register(Type type)
    {
        var descriptor = Describe(type);
        byType[descriptor.TypeName] = descriptor;
        byClrType[type] = descriptor;
        return descriptor;
    }

    /// <summary>Registers a descriptor built by hand (workflows usable as activities).</summary>
    public void Register(ActivityDescriptor descriptor) => byType[descriptor.TypeName] = descriptor;

    public void Unregister(string typeName) => byType.TryRemove(typeName, out _);

    public ActivityDescriptor? Find(string typeName) => byType.GetValueOrDefault(typeName);

    public IReadOnlyCollection<ActivityDescriptor> All => [.. byType.Values.OrderBy(d => d.Category).ThenBy(d => d.TypeName, StringComparer.Ordinal)];

    /// <summary>The descriptor of an activity instance (by its type name, falling back to its class).</summary>
    public ActivityDescriptor Describe(Activity activity) =>
        (activity.Type.Length > 0 ? Find(activity.Type) : null) ?? byClrType.GetOrAdd(activity.GetType(), Describe);

    public string GetInputName(Activity activity, Input input)
    {
        foreach (var descriptor in Describe(activity).Inputs)
        {
            if (ReferenceEquals(descriptor.Property?.GetValue(activity), input))
                return descriptor.Name;
        }

        return activity is IDynamicInputs dynamic ? dynamic.GetInputName(input) ?? "Input" : "Input";
    }

    public string GetOutputName(Activity activity, Output output)
    {
        foreach (var descriptor in Describe(activity).Outputs)
        {
            if (ReferenceEquals(descriptor.Property?.GetValue(activity), output))
                return descriptor.Name;
        }

        if (activity is IDynamicOutputs dynamic && dynamic.GetOutputName(output) is { } name)
            return name;
        throw new InvalidOperationException($"Output of {activity} is not a declared output property.");
    }

    public bool IsSecretInput(Activity activity, string name) => Describe(activity).FindInput(name)?.IsSecret == true;

    public bool IsSecretOutput(Activity activity, string name) =>
        Describe(activity).Outputs.Any(o => o.Name == name && o.IsSecret);

    private static ActivityDescriptor Describe(Type type)
    {
        var attribute = type.GetCustomAttribute<ActivityAttribute>()
            ?? throw new InvalidOperationException($"{type.FullName} has no [Activity] attribute.");
        var typeName = $"{attribute.Namespace}.{attribute.TypeName ?? type.Name}";
        var inputs = new List<InputDescriptor>();
        var outputs = new List<OutputDescriptor>();
        var ports = new List<PortDescriptor>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.DeclaringType != typeof(Activity)))
        {
            var propertyType = property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Input<>))
            {
                var valueType = propertyType.GetGenericArguments()[0];
                var info = property.GetCustomAttribute<InputAttribute>() ?? new InputAttribute();
                inputs.Add(new InputDescriptor
                {
                    Name = property.Name,
                    JsonName = Naming.CamelCase(property.Name),
                    ValueType = valueType,
                    TypeName = TypeAliases.For(valueType),
                    IsWrapped = true,
                    UIHint = info.UIHint ?? DefaultUIHint(valueType, info),
                    Description = info.Description,
                    DisplayName = info.DisplayName ?? Naming.Words(property.Name),
                    Options = info.Options ?? ((Nullable.GetUnderlyingType(valueType) ?? valueType) is { IsEnum: true } enumType ? Enum.GetNames(enumType) : null),
                    DefaultValue = info.DefaultValue,
                    IsSecret = info.IsSecret,
                    Required = info.Required,
                    Category = info.Category,
                    Order = info.Order,
                    Property = property,
                });
            }
            else if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Output<>))
            {
                var valueType = propertyType.GetGenericArguments()[0];
                var info = property.GetCustomAttribute<OutputAttribute>() ?? new OutputAttribute();
                outputs.Add(new OutputDescriptor
                {
                    Name = property.Name,
                    JsonName = Naming.CamelCase(property.Name),
                    ValueType = valueType,
                    TypeName = TypeAliases.For(valueType),
                    Description = info.Description,
                    DisplayName = info.DisplayName ?? Naming.Words(property.Name),
                    IsSecret = info.IsSecret,
                    Property = property,
                });
            }
            else if (typeof(Activity).IsAssignableFrom(propertyType) || typeof(IEnumerable<Activity>).IsAssignableFrom(propertyType))
            {
                ports.Add(new PortDescriptor
                {
                    Name = property.Name,
                    JsonName = Naming.CamelCase(property.Name),
                    DisplayName = property.GetCustomAttribute<PortAttribute>()?.DisplayName ?? Naming.Words(property.Name),
                    IsCollection = !typeof(Activity).IsAssignableFrom(propertyType),
                    Property = property,
                });
            }
            else if (property.GetCustomAttribute<InputAttribute>() is { } raw && property.CanWrite)
            {
                inputs.Add(new InputDescriptor
                {
                    Name = property.Name,
                    JsonName = Naming.CamelCase(property.Name),
                    ValueType = propertyType,
                    TypeName = TypeAliases.For(propertyType),
                    IsWrapped = false,
                    UIHint = raw.UIHint ?? DefaultUIHint(propertyType, raw),
                    Description = raw.Description,
                    DisplayName = raw.DisplayName ?? Naming.Words(property.Name),
                    Options = raw.Options,
                    DefaultValue = raw.DefaultValue,
                    IsSecret = raw.IsSecret,
                    Required = raw.Required,
                    Category = raw.Category,
                    Order = raw.Order,
                    Property = property,
                });
            }
        }

        return new ActivityDescriptor
        {
            TypeName = typeName,
            Namespace = attribute.Namespace,
            Category = attribute.Category,
            Name = attribute.TypeName ?? type.Name,
            DisplayName = attribute.DisplayName ?? Naming.Words(attribute.TypeName ?? type.Name),
            Description = attribute.Description,
            Version = attribute.Version,
            ClrType = type,
            SafeToRerun = attribute.SafeToRerun,
            IsBlocking = attribute.IsBlocking,
            MaxAttempts = Math.Max(1, attribute.MaxAttempts),
            Timeout = attribute.TimeoutSeconds > 0 ? TimeSpan.FromSeconds(attribute.TimeoutSeconds) : null,
            Browsable = attribute.Browsable,
            Kind = attribute.IsTrigger ? "Trigger" : attribute.IsBlocking ? "Task" : "Action",
            Outcomes = attribute.Outcomes ?? [Execution.Outcomes.Done],
            DynamicOutcomesInput = type.GetCustomAttribute<DynamicOutcomesAttribute>()?.InputName,
            Inputs = [.. inputs.OrderBy(i => i.Order)],
            Outputs = outputs,
            Ports = ports,
            Factory = () => (Activity)Activator.CreateInstance(type)!,
        };
    }

    /// <summary>The Studio editor of an input by its type (<c>int?</c>, <c>TimeSpan?</c> as their underlying type): single-line, checkbox, dropdown, date picker, multi-text, else JSON.</summary>
    private static string DefaultUIHint(Type type, InputAttribute info)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (info.Options is { Length: > 0 } || type.IsEnum)
            return InputUIHints.Dropdown;
        if (type == typeof(bool) || type == typeof(bool?))
            return InputUIHints.Checkbox;
        if (type == typeof(string) || type.IsPrimitive || type == typeof(TimeSpan) || type == typeof(decimal) || type == typeof(Guid))
            return InputUIHints.SingleLine;
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
            return InputUIHints.DateTimePicker;
        if (typeof(IEnumerable<string>).IsAssignableFrom(type))
            return InputUIHints.MultiText;
        return InputUIHints.JsonEditor;
    }
}

/// <summary>An activity whose outcomes are the values of one of its inputs (e.g. FlowFork branches).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class DynamicOutcomesAttribute(string inputName) : Attribute
{
    public string InputName { get; } = inputName;
}

/// <summary>An activity with inputs that are not properties (workflow activities map definition inputs).</summary>
public interface IDynamicInputs
{
    string? GetInputName(Input input);
}

/// <summary>An activity with outputs that are not properties (workflow activities expose the definition's declared outputs).</summary>
public interface IDynamicOutputs
{
    string? GetOutputName(Output output);
}

/// <summary>An activity with JSON that is more than inputs and ports (Flowchart connections, Switch cases).</summary>
public interface ICustomActivityJson
{
    /// <summary>Reads the extra properties; <paramref name="materialize"/> turns a child activity's JSON into an activity.</summary>
    void ReadJson(JsonObject json, Func<JsonObject, Activity> materialize);

    /// <summary>Writes the extra properties; <paramref name="serialize"/> turns a child activity into JSON.</summary>
    void WriteJson(JsonObject json, Func<Activity, JsonObject> serialize);

    /// <summary>Child activities held in the extra properties.</summary>
    IEnumerable<Activity> GetCustomChildren();
}

internal static class Naming
{
    public static string CamelCase(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    public static string Words(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                builder.Append(' ');
            builder.Append(name[i]);
        }

        return builder.ToString();
    }
}

/// <summary>Elsa's type aliases for input and variable types.</summary>
public static class TypeAliases
{
    private static readonly Dictionary<Type, string> Aliases = new()
    {
        [typeof(string)] = "String",
        [typeof(bool)] = "Boolean",
        [typeof(int)] = "Int32",
        [typeof(long)] = "Int64",
        [typeof(double)] = "Double",
        [typeof(float)] = "Single",
        [typeof(decimal)] = "Decimal",
        [typeof(object)] = "Object",
        [typeof(TimeSpan)] = "TimeSpan",
        [typeof(DateTime)] = "DateTime",
        [typeof(DateTimeOffset)] = "DateTimeOffset",
        [typeof(Guid)] = "Guid",
        [typeof(JsonNode)] = "JsonNode",
        [typeof(JsonObject)] = "JsonObject",
        [typeof(string[])] = "String[]",
    };

    public static string For(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (Aliases.TryGetValue(type, out var alias))
            return alias;
        if (typeof(IEnumerable<string>).IsAssignableFrom(type))
            return "String[]";
        return type.IsEnum ? "String" : "Object";
    }

    /// <summary>The CLR type of an alias (unknown aliases are <see cref="object"/>).</summary>
    public static Type ToType(string? alias) =>
        alias is null ? typeof(object) : Aliases.FirstOrDefault(p => string.Equals(p.Value, alias, StringComparison.OrdinalIgnoreCase)).Key ?? typeof(object);
}
