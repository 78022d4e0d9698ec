using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;

namespace Backprop.Nn;

/// <summary>
/// Finds a module's children, parameters, buffers and random generators from its fields, the way PyTorch's
/// <c>nn.Module</c> finds them from its attributes, so a custom module needs only a constructor and
/// <see cref="Module.Forward(Tensor)"/>. Auto-properties and captured primary-constructor parameters count as fields, named
/// as written (<c>fc1</c>, not the compiler's backing-field name).
/// </summary>
/// <remarks>
/// What each field type means:
/// <list type="bullet">
/// <item><see cref="Module"/>: a child, named after the field;</item>
/// <item><see cref="Tensor"/>: a parameter (a frozen one too: <c>RequiresGrad = false</c> freezes it but it is still
/// saved), unless marked <see cref="BufferAttribute"/> (saved, never trained) or <see cref="ConstantAttribute"/>
/// (neither saved nor trained);</item>
/// <item><see cref="Rng"/>: a generator whose state a checkpoint saves;</item>
/// <item>an array, list or other sequence of modules or tensors: children or parameters named <c>field.0</c>,
/// <c>field.1</c>, ... (PyTorch's <c>ModuleList</c>/<c>ParameterList</c>), and a dictionary keyed by strings:
/// <c>field.key</c> (<c>ModuleDict</c>).</item>
/// </list>
/// Fields are read in declaration order, base class first, and read again at every call: a module may replace a
/// child after construction. A field whose type holds modules or tensors in some other way (a tuple, a lazy value) is
/// an error rather than a silently empty module.
/// </remarks>
internal static class ModuleFields
{
    private enum Kind { Module, Tensor, Buffer, Generator, Modules, Tensors, Buffers }

    private sealed record Field(string Name, FieldInfo Info, Kind Kind);

    private static readonly ConcurrentDictionary<Type, Field[]> Cache = new();

    public static IEnumerable<(string Name, Module Module)> Children(Module owner) => Items<Module>(owner, Kind.Module, Kind.Modules);

    public static IEnumerable<(string Name, Tensor Parameter)> Parameters(Module owner) => Items<Tensor>(owner, Kind.Tensor, Kind.Tensors);

    public static IEnumerable<(string Name, Tensor Buffer)> Buffers(Module owner) => Items<Tensor>(owner, Kind.Buffer, Kind.Buffers);

    public static IEnumerable<(string Name, Rng Generator)> Generators(Module owner) => Items<Rng>(owner, Kind.Generator, null);

    private static IEnumerable<(string Name, T Item)> Items<T>(Module owner, Kind single, Kind? many) where T : class
    {
        foreach (var field in Of(owner.GetType()))
        {
            object? value = field.Info.GetValue(owner);
            if (value is null) continue;
            if (field.Kind == single && value is T item) yield return (field.Name, item);
            else if (field.Kind == many)
                foreach (var (key, element) in Elements(value))
                    if (element is T t) yield return ($"{field.Name}.{key}", t);
        }
    }

    // (index or key, element) of a sequence or a string-keyed dictionary.
    private static IEnumerable<(string Key, object? Element)> Elements(object collection)
    {
        int i = 0;
        foreach (var element in (IEnumerable)collection)
        {
            if (element is not null && IsStringKeyedPair(element.GetType()))
            {
                var type = element.GetType();
                yield return ((string)type.GetProperty("Key")!.GetValue(element)!, type.GetProperty("Value")!.GetValue(element));
            }
            else yield return (i.ToString(System.Globalization.CultureInfo.InvariantCulture), element);
            i++;
        }
    }

    private static readonly ConcurrentDictionary<Type, bool> ListForward = new();

    /// <summary>Whether <paramref name="type"/> (a module) overrides <c>Forward(IReadOnlyList&lt;Tensor&gt;)</c>.</summary>
    public static bool OverridesListForward(Type type) => ListForward.GetOrAdd(type, static t =>
        t.GetMethod(nameof(Module.Forward), [typeof(IReadOnlyList<Tensor>)])!.DeclaringType != typeof(Module));

    private static Field[] Of(Type type) => Cache.GetOrAdd(type, Discover);

    private static Field[] Discover(Type type)
    {
        var levels = new Stack<Type>();
        for (var t = type; t is not null && t != typeof(Module); t = t.BaseType) levels.Push(t);
        var fields = new List<Field>();
        foreach (var level in levels)
            foreach (var info in level.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (info.IsDefined(typeof(ConstantAttribute)) || PropertyOf(info)?.IsDefined(typeof(ConstantAttribute)) == true) continue;
                bool buffer = info.IsDefined(typeof(BufferAttribute)) || PropertyOf(info)?.IsDefined(typeof(BufferAttribute)) == true;
                var kind = KindOf(info.FieldType, buffer);
                if (kind is { } k) fields.Add(new Field(CleanName(info.Name), info, k));
                else if (MentionsState(info.FieldType))
                    throw new InvalidOperationException(
                        $"{type.Name}.{CleanName(info.Name)} is a {Describe(info.FieldType)}, which holds modules or tensors in a way Backprop cannot " +
                        "name, so they would be neither trained nor saved: keep them in fields of their own, an array, a List<T> or a " +
                        "Dictionary<string, T>, mark the field [Constant] if it is not state, or override Children()/OwnParameters().");
            }
        return [.. fields];
    }

    private static Kind? KindOf(Type type, bool buffer)
    {
        if (typeof(Module).IsAssignableFrom(type)) return Kind.Module;
        if (type == typeof(Tensor)) return buffer ? Kind.Buffer : Kind.Tensor;
        if (type == typeof(Rng)) return Kind.Generator;
        if (type == typeof(string) || ElementType(type) is not { } element) return null;
        if (IsStringKeyedPair(element)) element = element.GetGenericArguments()[1];
        if (typeof(Module).IsAssignableFrom(element)) return Kind.Modules;
        if (element == typeof(Tensor)) return buffer ? Kind.Buffers : Kind.Tensors;
        return null;
    }

    // T of the IEnumerable<T> the type implements (the type itself may be IEnumerable<T>).
    private static Type? ElementType(Type type)
    {
        if (type.IsArray) return type.GetElementType();
        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>) ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    private static bool IsStringKeyedPair(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(KeyValuePair<,>) && type.GetGenericArguments()[0] == typeof(string);

    // Whether a type we cannot walk still carries modules or tensors in its generic arguments or elements.
    private static bool MentionsState(Type type) =>
        typeof(Module).IsAssignableFrom(type) || type == typeof(Tensor)
        || (type.IsArray && MentionsState(type.GetElementType()!))
        || (type.IsGenericType && type.GetGenericArguments().Any(MentionsState));

    private static string Describe(Type type) =>
        !type.IsGenericType ? type.Name
        : $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>";

    // "<fc1>k__BackingField" (an auto-property) and "<fc1>P" (a captured primary-constructor parameter) → "fc1".
    private static string CleanName(string name) =>
        name.StartsWith('<') && name.IndexOf('>', StringComparison.Ordinal) is > 1 and var end ? name[1..end] : name;

    private static PropertyInfo? PropertyOf(FieldInfo backing) =>
        backing.Name.EndsWith(">k__BackingField", StringComparison.Ordinal)
            ? backing.DeclaringType!.GetProperty(CleanName(backing.Name), BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            : null;
}
