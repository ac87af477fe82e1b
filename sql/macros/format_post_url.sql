{#- The public address of a post from its platform's template (the platform contract's post_url,
    raw.platforms.post_url_template): {instance} the account's server, {author} the post's author
    handle without a leading '@', {post_id} the post's id, {post_key} the part of the id after its
    last '/'. NULL without a template, or when the template names a part that is NULL. -#}
{% macro format_post_url(template, instance, author, post_id) %}
    case
        when
            {{ template }} is not null
            and not ({{ template }} like '%{instance}%' and {{ instance }} is null)
            and not ({{ template }} like '%{author}%' and {{ author }} is null)
            and {{ post_id }} is not null
            then replace(replace(replace(replace(
                {{ template }},
                '{instance}', coalesce({{ instance }}, '')),
                '{author}', coalesce(ltrim({{ author }}, '@'), '')),
                '{post_key}', regexp_extract({{ post_id }}, '[^/]*$')),
                '{post_id}', {{ post_id }})
    end
{% endmacro %}
